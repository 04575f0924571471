"""Structured logs: one JSON object a line, carrying service, request and trace ids.

Standard-library loggers (uvicorn, SQLAlchemy, aiokafka) go through the same renderer, so a
log shipper (Loki) sees one format. Secrets are kept out by never logging them: settings
hold them as ``SecretStr`` and tokens are never passed to a logger.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog
from opentelemetry import trace

from spotilike.kit.context import current_request_id

__all__ = ["configure_logging"]


def _add_context(service: str) -> structlog.types.Processor:
    def processor(
        _logger: object, _method: str, event: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        event.setdefault("service", service)
        request_id = current_request_id()
        if request_id is not None:
            event.setdefault("request_id", request_id)
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            event.setdefault("trace_id", format(span.trace_id, "032x"))
            event.setdefault("span_id", format(span.span_id, "016x"))
        return event

    return processor


def configure_logging(*, service: str, level: str = "INFO", json: bool = True) -> None:
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_context(service),
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # Not cached: a cached logger keeps the processors it first saw, so reconfiguring
        # (another app in the same process, structlog's capture_logs in tests) would not
        # reach it. Building the chain per call costs microseconds.
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
    # uvicorn turns its access log off by stopping propagation; turning it back on here
    # would override `access_log=False`, so only the other two are set.
    logging.getLogger("uvicorn").propagate = True
    logging.getLogger("uvicorn.error").propagate = True
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, _DropQueryStrings) for f in access.filters):
        access.addFilter(_DropQueryStrings())


class _DropQueryStrings(logging.Filter):
    """Access-log lines keep the path and lose the query: OAuth codes, states and any
    token a client puts in a URL must not reach the logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], args[2].split("?", 1)[0], *args[3:])
        return True
