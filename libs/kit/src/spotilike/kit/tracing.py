"""OpenTelemetry tracing: W3C traceparent in and out, OTLP export when configured.

Spans are always created, so trace and span ids reach the logs and outgoing headers even
with no collector; they are exported only when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set.
"""

from __future__ import annotations

import os

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

__all__ = ["configure_tracing", "tracer"]

_configured = False


def configure_tracing(service: str) -> None:
    """Installs the global tracer provider once per process."""
    global _configured  # noqa: PLW0603 - the provider is process-global by OpenTelemetry's design
    if _configured:
        return
    provider = TracerProvider(resource=Resource.create({"service.name": f"spotilike-{service}"}))
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415
            OTLPSpanExporter,
        )

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    _configured = True


def tracer() -> trace.Tracer:
    return trace.get_tracer("spotilike")
