from pathlib import Path

import pytest
from pydantic import BaseModel

from spotilike.contracts import EVENT_MODELS, TOPICS
from spotilike.contracts.compatibility import breaking_changes, current_schemas, load_snapshot

SNAPSHOT = Path(__file__).parents[1] / "schemas"

pytestmark = pytest.mark.unit


def _schema(model: type[BaseModel]) -> dict[str, object]:
    return model.model_json_schema(mode="serialization")


class Old(BaseModel):
    track_id: str
    title: str


class AddedOptional(BaseModel):
    track_id: str
    title: str
    explicit: bool = False


class AddedRequired(BaseModel):
    track_id: str
    title: str
    explicit: bool


class Renamed(BaseModel):
    track_id: str
    name: str


class Retyped(BaseModel):
    track_id: str
    title: int


def test_adding_an_optional_field_is_compatible() -> None:
    assert breaking_changes(_schema(Old), _schema(AddedOptional)) == []


@pytest.mark.parametrize(
    ("new", "fragment"),
    [
        (AddedRequired, "/explicit: new field is required"),
        (Renamed, "/title: field removed or renamed"),
        (Retyped, "/title: schema changed"),
    ],
)
def test_breaking_changes_are_named(new: type[BaseModel], fragment: str) -> None:
    problems = breaking_changes(_schema(Old), _schema(new))
    assert any(fragment in problem for problem in problems), problems


def test_every_recorded_event_schema_is_still_compatible() -> None:
    recorded = load_snapshot(SNAPSHOT)
    assert recorded, f"no schema snapshot in {SNAPSHOT}; run `spotilike contracts snapshot`"
    current = current_schemas()
    missing = sorted(recorded.keys() - current.keys())
    assert missing == [], f"event types disappeared (publish a new version instead): {missing}"
    problems = {t: breaking_changes(recorded[t], current[t]) for t in recorded}
    assert {t: p for t, p in problems.items() if p} == {}


def test_every_event_type_is_recorded() -> None:
    unrecorded = sorted(current_schemas().keys() - load_snapshot(SNAPSHOT).keys())
    assert unrecorded == [], "run `spotilike contracts snapshot` and commit libs/contracts/schemas"


def test_every_topic_has_an_event_and_every_event_a_topic() -> None:
    topic_names = {t.name for t in TOPICS}
    event_topics = {
        model.topic
        for model in EVENT_MODELS.values()
        if model.__module__.startswith("spotilike.contracts.")
    }
    assert topic_names == event_topics
    assert len(topic_names) == len(TOPICS), "a topic is declared twice"


def test_topics_are_well_formed() -> None:
    for t in TOPICS:
        assert t.partitions >= 1
        assert t.dlq == t.name + ".dlq"
        assert t.name == t.name.lower()


def test_the_committed_asyncapi_document_matches_the_code() -> None:
    import json

    from spotilike.contracts.asyncapi import build_document

    committed = Path(__file__).parents[3] / "docs" / "asyncapi.json"
    assert committed.is_file(), "run `spotilike contracts asyncapi`"
    assert json.loads(committed.read_text()) == json.loads(json.dumps(build_document())), (
        "docs/asyncapi.json is stale: run `spotilike contracts asyncapi`"
    )
