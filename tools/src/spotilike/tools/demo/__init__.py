"""The demo catalog `make up` seeds: generated music (`music`) to upload as its tracks."""

__all__ = ["music"]
