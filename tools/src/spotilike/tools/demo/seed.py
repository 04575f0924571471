"""The demo catalog, made through the gateway the way people would make it.

An admin and a listener sign up through the users API (with the form token and fill time
the sign-up risk checks expect), the operator command grants the admin its role, and the
admin creates genres, artists, albums and tracks through the catalog API, uploads each
track's generated OGG through the audio API, waits for the real pipeline to make it
READY, and publishes it. A 429 from the gateway's rate limit is waited out with its
Retry-After, as a well-behaved client does. Re-running after a partial seed carries on:
accounts that exist are logged into and a finished seed is recorded in ``seeded.json``.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from spotilike.tools.demo.music import DEMO_SONGS, DemoSong, write_ogg

__all__ = ["DemoAccounts", "SeedError", "seed_demo", "seeded_accounts"]

ADMIN_EMAIL = "admin@spotilike.dev"
LISTENER_EMAIL = "listener@spotilike.dev"
FORM_FILL_SECONDS = 2.2
"""A little above the users service's minimum form fill time (2 s by default)."""
READY_TIMEOUT_SECONDS = 600.0

GENRES = ("Synthwave", "Lo-fi", "Chiptune")
ARTISTS = (
    ("Neon Harbor", "GB", "Synthwave", "Night Drive"),
    ("Paper Lanterns", "FR", "Lo-fi", "Slow Mornings"),
    ("Bit Garden", "JP", "Chiptune", "Eight-Bit Seasons"),
)

Progress = Callable[[str, float | None], None]
"""``(message, fraction done or None)``."""


class SeedError(Exception):
    pass


@dataclass(frozen=True)
class DemoAccounts:
    admin_email: str
    admin_password: str
    listener_email: str
    listener_password: str

    def as_json(self) -> dict[str, str]:
        return {
            "admin_email": self.admin_email,
            "admin_password": self.admin_password,
            "listener_email": self.listener_email,
            "listener_password": self.listener_password,
        }


def seeded_accounts(root: Path) -> DemoAccounts | None:
    """The demo accounts of a finished seed, or None when the platform was never seeded."""
    try:
        data = json.loads((root / "seeded.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return DemoAccounts(**data["accounts"])


def _accounts(root: Path) -> DemoAccounts:
    # Passwords are made once and kept beside the data, so a re-run logs into the same
    # accounts; the file is in the git-ignored data folder, readable by this user only.
    path = root / "demo-accounts.json"
    if path.exists():
        return DemoAccounts(**json.loads(path.read_text(encoding="utf-8")))
    accounts = DemoAccounts(
        admin_email=ADMIN_EMAIL,
        admin_password=secrets.token_urlsafe(12),
        listener_email=LISTENER_EMAIL,
        listener_password=secrets.token_urlsafe(12),
    )
    path.write_text(json.dumps(accounts.as_json()), encoding="utf-8")
    path.chmod(0o600)
    return accounts


class _Api:
    """The gateway, with the patience a real client needs: it waits out 429 and 503."""

    def __init__(self, base_url: str) -> None:
        # It names itself, not its HTTP library: the sign-up risk checks challenge clients
        # that introduce themselves as a generic library or a crawler.
        self._http = httpx.AsyncClient(
            base_url=base_url,
            timeout=60.0,
            headers={"User-Agent": "spotilike-demo-seed/1.0", "Accept-Language": "en"},
        )
        self._fingerprint = secrets.token_hex(16)
        self.token: str | None = None

    async def aclose(self) -> None:
        await self._http.aclose()

    async def call(
        self, method: str, path: str, *, expect: tuple[int, ...] = (200, 201), **kwargs: Any
    ) -> httpx.Response:
        headers = {"X-Device-Fingerprint": self._fingerprint, **kwargs.pop("headers", {})}
        if self.token is not None:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        for _ in range(30):
            response = await self._http.request(method, path, headers=headers, **kwargs)
            if response.status_code in (429, 503):
                await asyncio.sleep(min(60.0, float(response.headers.get("Retry-After", "2"))))
                continue
            if response.status_code not in expect:
                raise SeedError(f"{method} {path} answered {response.status_code}: {response.text}")
            return response
        raise SeedError(f"{method} {path} kept answering 429/503")

    async def json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        body: dict[str, Any] = (await self.call(method, path, **kwargs)).json()
        return body

    async def create(self, path: str, body: dict[str, Any]) -> str:
        """Creates a catalog object and returns its id; a duplicate (409 naming the existing
        object) returns that object's id, so a re-run after a partial seed carries on."""
        response = await self.call("POST", path, json=body, expect=(201, 409))
        answer = response.json()
        created: str = answer["id"] if response.status_code == 201 else answer["existing"]["id"]
        return created

    async def sign_in(self, email: str, password: str) -> None:
        self.token = None
        form = (await self.json("GET", "/auth/form-token"))["form_token"]
        await asyncio.sleep(FORM_FILL_SECONDS)
        registered = await self.call(
            "POST",
            "/auth/register",
            expect=(201, 409),
            json={
                "email": email,
                "password": password,
                "display_name": email.split("@", 1)[0].title(),
                "form_token": form,
            },
        )
        if registered.status_code == 201:
            self.token = registered.json()["tokens"]["access_token"]
            return
        form = (await self.json("GET", "/auth/form-token"))["form_token"]
        await asyncio.sleep(FORM_FILL_SECONDS)
        login = await self.call(
            "POST",
            "/auth/login",
            expect=(200, 401),
            json={"email": email, "password": password, "form_token": form},
        )
        if login.status_code == 401:
            raise SeedError(
                f"the demo account {email} exists but its password is not the one in "
                "demo-accounts.json; `spotilike stack reset` starts the platform afresh"
            )
        self.token = login.json()["access_token"]


def _grant_admin(email: str, users_env: Mapping[str, str]) -> None:
    result = subprocess.run(  # noqa: S603 - our own console script, fixed arguments
        [str(Path(sys.executable).with_name("spotilike")), "users", "grant-role", email, "ADMIN"],
        env={**users_env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        raise SeedError(f"granting ADMIN to {email} failed: {result.stdout}{result.stderr}")


async def seed_demo(
    base_url: str,
    *,
    root: Path,
    users_env: Mapping[str, str],
    tracks: int | None = None,
    progress: Progress = lambda message, fraction: None,
) -> DemoAccounts:
    """Seeds the catalog through the gateway at ``base_url``; ``users_env`` is the users
    service's environment (for the operator command that makes the first admin);
    ``tracks`` limits how many of the demo songs are made (all by default)."""
    accounts = _accounts(root)
    media = root / "demo-media"
    media.mkdir(parents=True, exist_ok=True)
    api = _Api(base_url)
    try:
        progress("signing up the demo listener", 0.0)
        await api.sign_in(accounts.listener_email, accounts.listener_password)
        progress("signing up the admin", 0.02)
        await api.sign_in(accounts.admin_email, accounts.admin_password)
        await asyncio.to_thread(_grant_admin, accounts.admin_email, {**os.environ, **users_env})
        await api.sign_in(accounts.admin_email, accounts.admin_password)

        made, albums = await _create_catalog(api, DEMO_SONGS[:tracks])
        for position, (track_id, song) in enumerate(made):
            status = (await api.json("GET", f"/catalog/tracks/{track_id}"))["status"]
            if status in {"READY", "PROCESSING"}:
                continue
            progress(f"composing and uploading {song.title!r}", 0.05 + 0.45 * position / len(made))
            path = await asyncio.to_thread(write_ogg, song, media / f"{song.seed}.ogg")
            await _upload(api, track_id, path.read_bytes())
        await _wait_until_ready(api, [track_id for track_id, _ in made], progress)
        progress("publishing", 0.97)
        for track_id, _ in made:
            await api.call("POST", f"/catalog/tracks/{track_id}/publish", expect=(200, 409))
        for album_id in albums:
            await api.call("POST", f"/catalog/albums/{album_id}/publish", expect=(200, 409))
    finally:
        await api.aclose()
    (root / "seeded.json").write_text(
        json.dumps({"accounts": accounts.as_json(), "tracks": len(made)}), encoding="utf-8"
    )
    (root / "seeded.json").chmod(0o600)
    progress("demo catalog ready", 1.0)
    return accounts


async def _create_catalog(
    api: _Api, songs: tuple[DemoSong, ...]
) -> tuple[list[tuple[str, DemoSong]], list[str]]:
    """Genres, then per artist one album holding its share of the songs."""
    genres = {}
    for name in GENRES:
        genres[name] = await api.create("/catalog/genres", {"name": name})
    per_artist = -(-len(songs) // len(ARTISTS))
    tracks: list[tuple[str, DemoSong]] = []
    albums: list[str] = []
    for index, (name, country, genre, album_title) in enumerate(ARTISTS):
        share = songs[index * per_artist : (index + 1) * per_artist]
        if not share:
            break
        found = await api.json("GET", "/catalog/search", params={"q": name})
        artist_id = next(
            (artist["id"] for artist in found.get("artists", []) if artist["name"] == name),
            None,
        ) or await api.create(
            "/catalog/artists",
            {"name": name, "country": country, "bio": f"{name} is a demo artist."},
        )
        album_id = await api.create(
            "/catalog/albums",
            {
                "artist_id": artist_id,
                "title": album_title,
                "genre_ids": [genres[genre]],
                "release_date": "2026-11-01",
            },
        )
        albums.append(album_id)
        # An admin sees the album's drafts too: a re-run finds the tracks it made before.
        existing = (await api.json("GET", f"/catalog/albums/{album_id}"))["tracks"]
        by_title = {track["title"]: track["id"] for track in existing}
        number = max((track["track_number"] for track in existing), default=0)
        for song in share:
            if song.title not in by_title:
                number += 1
                by_title[song.title] = await api.create(
                    "/catalog/tracks",
                    {"album_id": album_id, "title": song.title, "track_number": number},
                )
            tracks.append((by_title[song.title], song))
    return tracks, albums


async def _wait_until_ready(api: _Api, track_ids: list[str], progress: Progress) -> None:
    started = time.monotonic()
    waiting = set(track_ids)
    while waiting:
        done = len(track_ids) - len(waiting)
        progress(
            f"processing to HLS: {done}/{len(track_ids)} ready", 0.5 + 0.45 * done / len(track_ids)
        )
        for track_id in sorted(waiting):
            status = (await api.json("GET", f"/catalog/tracks/{track_id}"))["status"]
            if status == "READY":
                waiting.discard(track_id)
            elif status == "FAILED":
                raise SeedError(f"processing of track {track_id} failed; see the audio logs")
        if time.monotonic() - started > READY_TIMEOUT_SECONDS:
            raise SeedError(f"{len(waiting)} tracks were not READY after 10 minutes")
        if waiting:
            await asyncio.sleep(2.0)


async def _upload(api: _Api, track_id: str, data: bytes) -> None:
    await api.call("POST", f"/catalog/tracks/{track_id}/request-upload")
    # The audio service learns of the track from the catalog's event: until then it does
    # not know the track is awaiting an upload.
    for _ in range(60):
        ticket = await api.call(
            "POST",
            "/audio/uploads",
            expect=(201, 409, 422),
            json={"track_id": track_id, "size_bytes": len(data), "content_type": "audio/ogg"},
        )
        if ticket.status_code == 201:
            break
        await asyncio.sleep(0.5)
    else:
        raise SeedError(f"the audio service never accepted an upload for track {track_id}")
    body = ticket.json()
    # The ticket's URL is the gateway's public one; the path is what we send to base_url.
    upload_path = httpx.URL(body["upload_url"]).raw_path.decode()
    await api.call("PUT", upload_path, content=data, headers={"Content-Type": "audio/ogg"})
    await api.call("POST", f"/audio/uploads/{body['upload_id']}/complete")
