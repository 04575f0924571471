"""Building the web player for the gateway to serve, only when its sources changed."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

__all__ = ["WebBuildError", "build_web_player"]


class WebBuildError(Exception):
    pass


def _newest(paths: list[Path]) -> float:
    return max((path.stat().st_mtime for path in paths if path.is_file()), default=0.0)


def build_web_player(web: Path, *, say: Callable[[str], None]) -> bool:
    """``npm ci`` when the lock file changed, ``npm run build`` when a source did; returns
    whether anything was built. No ``web/`` folder means nothing to do."""
    if not (web / "package.json").is_file():
        return False
    npm = shutil.which("npm")
    if npm is None:
        raise WebBuildError(
            "npm is missing: install Node.js 20+ (apt-get install nodejs npm), or run "
            "`make up` with `--no-web` to start without the web player"
        )
    lock = web / "package-lock.json"
    installed = web / "node_modules" / ".package-lock.json"
    if not installed.exists() or _newest([lock]) > _newest([installed]):
        say("  web: installing its npm packages (npm ci)")
        _run([npm, "ci", "--no-audit", "--no-fund"], web)
    sources = [p for p in (web / "src").rglob("*") if p.is_file()] if (web / "src").is_dir() else []
    sources += [web / "index.html", web / "package.json", lock, web / "vite.config.ts"]
    built = web / "dist" / "index.html"
    if built.exists() and _newest([built]) >= _newest(sources):
        return False
    say("  web: building (npm run build)")
    _run([npm, "run", "build"], web)
    return True


def _run(argv: list[str], cwd: Path) -> None:
    result = subprocess.run(  # noqa: S603 - npm from PATH with fixed arguments
        argv, cwd=cwd, capture_output=True, text=True, timeout=600, check=False
    )
    if result.returncode != 0:
        output = (result.stdout + result.stderr)[-3000:]
        raise WebBuildError(f"`{' '.join(argv[1:])}` failed in {cwd}:\n{output}")
