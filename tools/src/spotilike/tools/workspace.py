"""Where the repository is, found from the working directory like git finds its root."""

from __future__ import annotations

import tomllib
from pathlib import Path

__all__ = ["repository_root", "service_dir"]


def repository_root(start: Path | None = None) -> Path:
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            config = tomllib.loads(pyproject.read_text())
            if "workspace" in config.get("tool", {}).get("uv", {}):
                return folder
    raise FileNotFoundError(
        f"no Spotilike checkout above {here}: run this from inside the repository"
    )


def service_dir(name: str, root: Path | None = None) -> Path:
    folder = (root or repository_root()) / "services" / name
    if not (folder / "pyproject.toml").is_file():
        known = sorted(p.name for p in folder.parent.glob("*/pyproject.toml"))
        raise FileNotFoundError(f"no service {name!r} under services/ (known: {known or 'none'})")
    return folder
