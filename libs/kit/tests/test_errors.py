"""The problem document every answer shares, built without a Starlette request."""

from __future__ import annotations

import pytest

from spotilike.kit.errors import problem_document

pytestmark = pytest.mark.unit


def test_a_problem_document_has_the_rfc_9457_members() -> None:
    assert problem_document(status=431, code="headers-too-large", detail="Too big.") == {
        "type": "https://spotilike.dev/problems/headers-too-large",
        "title": "Request Header Fields Too Large",
        "status": 431,
        "detail": "Too big.",
    }


def test_a_problem_document_keeps_a_given_title_and_instance() -> None:
    document = problem_document(
        status=404, code="not-found", detail="No track 7.", title="No such track", instance="/t/7"
    )
    assert document["title"] == "No such track"
    assert document["instance"] == "/t/7"
