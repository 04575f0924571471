"""Journey 2, in a real browser through the gateway: the demo listener logs in, searches,
plays a track, and the audio clock advances with hls.js on a loaded level; and, in a page
without Media Source Extensions, the player hands the element a header-less master link.

Playwright (playwright-core from npm) drives Debian's Chromium; both are installed here
when missing, so a fresh machine needs nothing by hand.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import m3u8
import pytest
from e2e_support import Platform

from spotilike.tools.demo.music import DEMO_SONGS

pytestmark = pytest.mark.e2e

DRIVER = Path(__file__).parent / "browser"
CHROMIUM = Path("/usr/bin/chromium")


def _ensure_chromium() -> Path:
    if CHROMIUM.exists():
        return CHROMIUM
    if os.geteuid() != 0:
        pytest.fail("Chromium is missing: apt-get install chromium (needs root)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, timeout=600)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "chromium"], check=True, env=env, timeout=1200
    )
    return CHROMIUM


def _ensure_driver() -> None:
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is missing: install Node.js 20+ for the browser journey")
    if not (DRIVER / "node_modules" / "playwright-core").is_dir():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=DRIVER, check=True, timeout=600)


def _journey(platform: Platform, name: str, **extra_env: str) -> dict[str, Any]:
    """Runs journey.mjs and returns its findings, asserting it ran without errors."""
    chromium = _ensure_chromium()
    _ensure_driver()
    node = shutil.which("node")
    assert node is not None
    artifacts = platform.root / "artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    screenshot = artifacts / f"{name}.png"
    screenshot.unlink(missing_ok=True)
    result = subprocess.run(
        [node, "journey.mjs"],
        cwd=DRIVER,
        env={
            **os.environ,
            "BASE_URL": platform.base_url,
            "EMAIL": platform.accounts.listener_email,
            "PASSWORD": platform.accounts.listener_password,
            "QUERY": DEMO_SONGS[0].title,
            "SCREENSHOT": str(screenshot),
            "CHROMIUM": str(chromium),
            **extra_env,
        },
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert screenshot.exists(), result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    assert lines, result.stdout + result.stderr
    findings: dict[str, Any] = json.loads(lines[-1])
    assert result.returncode == 0, findings
    assert findings["errors"] == []
    return findings


def test_the_demo_listener_plays_a_track_in_a_browser(platform: Platform) -> None:
    findings = _journey(platform, "browser-journey")
    first, second = findings["first"], findings["second"]
    assert first["levels"] == 3
    assert first["loadedLevel"] >= 0
    assert second["currentTime"] > first["currentTime"] > 0
    assert second["paused"] is False


def test_without_media_source_the_player_hands_the_browser_a_master_link(
    platform: Platform,
) -> None:
    native = _journey(platform, "browser-journey-native-hls", NATIVE_HLS="1")["native"]
    assert native["hlsJs"] is False
    link = urlsplit(native["src"])
    assert re.fullmatch(r"/stream/[0-9a-f-]{36}/master\.m3u8", link.path)
    assert set(parse_qs(link.query)) == {"u", "t"}
    # Fetched from the page with no header at all, through the gateway.
    assert native["status"] == 200, native["playlist"]
    playlist = m3u8.loads(native["playlist"])
    assert len(playlist.playlists) == 3
    assert all("index.m3u8?u=" in variant.uri for variant in playlist.playlists)
