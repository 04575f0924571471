"""Decides whether a new version of an event schema can replace the old one in place.

The rule from ARCHITECTURE.md: adding a field is compatible, removing or renaming one is a
new version. In JSON Schema terms, against the recorded schema of the same event type:
every old property must still be there with the same schema, and a new property must not
be required (an old producer never sends it). Renaming shows up as one removal plus one
addition, so it is caught as a removal.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from spotilike.contracts.events.base import EVENT_MODELS

__all__ = ["breaking_changes", "current_schemas", "load_snapshot", "write_snapshot"]

Schema = dict[str, Any]


def _properties(schema: Schema) -> dict[str, Any]:
    props = schema.get("properties", {})
    return props if isinstance(props, dict) else {}


def breaking_changes(old: Schema, new: Schema, *, path: str = "") -> list[str]:
    problems: list[str] = []
    old_props, new_props = _properties(old), _properties(new)
    new_required = set(new.get("required", []))
    old_required = set(old.get("required", []))
    for name, old_prop in old_props.items():
        where = f"{path}/{name}"
        if name not in new_props:
            problems.append(f"{where}: field removed or renamed")
        elif old_prop != new_props[name]:
            problems.append(f"{where}: schema changed from {old_prop} to {new_props[name]}")
    for name in new_props.keys() - old_props.keys():
        if name in new_required:
            problems.append(f"{path}/{name}: new field is required; give it a default")
    for name in new_required & old_props.keys() - old_required:
        problems.append(f"{path}/{name}: optional field became required")
    old_defs, new_defs = old.get("$defs", {}), new.get("$defs", {})
    for def_name, old_def in old_defs.items():
        if def_name not in new_defs:
            problems.append(f"{path}/$defs/{def_name}: nested model removed or renamed")
        else:
            problems.extend(
                breaking_changes(old_def, new_defs[def_name], path=f"{path}/$defs/{def_name}")
            )
    return problems


def current_schemas() -> dict[str, Schema]:
    """Only the platform's own events: tests may register throwaway ones of their own."""
    return {
        event_type: model.model_json_schema(mode="serialization")
        for event_type, model in sorted(EVENT_MODELS.items())
        if model.__module__.startswith("spotilike.contracts.")
    }


def write_snapshot(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for event_type, schema in current_schemas().items():
        target = directory / f"{event_type}.json"
        target.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
        written.append(target)
    return written


def load_snapshot(directory: Path) -> dict[str, Schema]:
    return {
        path.name.removesuffix(".json"): json.loads(path.read_text())
        for path in sorted(directory.glob("*.json"))
    }
