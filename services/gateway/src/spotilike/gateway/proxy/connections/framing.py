"""HTTP/1.1 framing of the requests the pool writes and of the answers it reads."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["is_delimited", "request_head"]


def request_head(
    method: str,
    target: str,
    host: bytes,
    headers: Sequence[tuple[bytes, bytes]],
    framing: bytes,
) -> bytes:
    parts = [method.encode("ascii"), b" ", target.encode("latin-1"), b" HTTP/1.1\r\nHost: ", host]
    for name, value in headers:
        parts += (b"\r\n", name, b": ", value)
    parts += (b"\r\n", framing, b"\r\n")
    head = b"".join(parts)
    # One line per header plus the request line, Host and the blank line (and the framing
    # line): a CR or LF inside a name or value would split a line and smuggle a header.
    lines = len(headers) + 3 + (1 if framing else 0)
    if head.count(b"\n") != lines or head.count(b"\r") != lines:
        raise ValueError("a request header contains CR or LF")
    return head


def is_delimited(headers: Sequence[tuple[bytes, bytes]]) -> bool:
    """Whether the answer's body has a length or chunked framing; without either it runs
    until the upstream closes (RFC 9112 §6.3)."""
    for name, value in headers:
        lower = name.lower()
        if lower == b"content-length":
            return True
        if lower == b"transfer-encoding" and value.rsplit(b",", 1)[-1].strip().lower() == (
            b"chunked"
        ):
            return True
    return False
