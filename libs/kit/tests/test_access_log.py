import logging

import pytest

from spotilike.kit.logging import configure_logging

pytestmark = pytest.mark.unit


def test_access_log_lines_lose_their_query_strings(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    configure_logging(service="t", level="INFO", json=True)
    # As a server with its access log on leaves it; one started by an earlier test with
    # the access log off (uvicorn's access_log=False) stops the propagation.
    monkeypatch.setattr(logging.getLogger("uvicorn.access"), "propagate", True)
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d',
        "127.0.0.1:5000",
        "GET",
        "/auth/oauth/google/callback?code=SECRETCODE&state=SECRETSTATE",
        "1.1",
        302,
    )
    out = capsys.readouterr().out
    assert "/auth/oauth/google/callback" in out
    assert "SECRETCODE" not in out
    assert "SECRETSTATE" not in out
