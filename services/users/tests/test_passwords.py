from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Literal

import argon2
import pytest

from spotilike.users.passwords import (
    PASSWORD_MAX_LENGTH,
    PASSWORD_MIN_LENGTH,
    PasswordHasher,
    PasswordRejected,
    check_password_policy,
)
from spotilike.users.settings import OWASP_ARGON2_MINIMUM, UsersSettings

pytestmark = pytest.mark.unit

EMAIL = "Alice.Music@Example.com"


def rejection_code(password: str, *, email: str | None = None) -> str | None:
    try:
        check_password_policy(password, email=email)
    except PasswordRejected as rejected:
        return rejected.code
    return None


@pytest.fixture
def hasher() -> PasswordHasher:
    return PasswordHasher.from_settings(UsersSettings())


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("tQ7vx2p", "password/too-short"),
        ("tQ7vx2pk", None),
        ("tQ7vx2pk" * 16, None),
        ("tQ7vx2pk" * 16 + "z", "password/too-long"),
        ("", "password/too-short"),
    ],
    ids=["7-chars", "8-chars", "128-chars", "129-chars", "empty"],
)
def test_length_bounds(password: str, code: str | None) -> None:
    assert rejection_code(password) == code


@pytest.mark.parametrize(
    ("password", "code", "says"),
    [
        ("short", "password/too-short", "at least 8"),
        ("x" * 129, "password/too-long", "at most 128"),
        ("Password1", "password/too-common", "common"),
        (EMAIL, "password/contains-email", "email"),
    ],
)
def test_rejections_carry_a_code_and_a_message_for_the_user(
    password: str, code: str, says: str
) -> None:
    with pytest.raises(PasswordRejected) as rejected:
        check_password_policy(password, email=EMAIL)

    assert rejected.value.code == code
    assert says in rejected.value.message
    assert str(rejected.value) == rejected.value.message


def test_length_bounds_are_nist_style() -> None:
    assert (PASSWORD_MIN_LENGTH, PASSWORD_MAX_LENGTH) == (8, 128)


def test_no_composition_rules() -> None:
    assert rejection_code("zebra quilt lantern") is None
    assert rejection_code("ZEBRAQUILTLANTERN") is None
    assert rejection_code("49183726501") is None


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("e\u0301" * 7, "password/too-short"),
        ("e\u0301" * 8, None),
        ("\U0001f3b5" * 8, None),
        ("\U0001f3b5" * 7, "password/too-short"),
        ("\ufb01" * 4, None),
        ("\u00e9" * 128, None),
        ("e\u0301" * 128, None),
        ("e\u0301" * 129, "password/too-long"),
    ],
    ids=[
        "7-decomposed-accents-are-7",
        "8-decomposed-accents-are-8",
        "8-emoji-are-8-not-32-bytes",
        "7-emoji-are-7",
        "4-ligatures-expand-to-8",
        "128-precomposed",
        "256-code-points-compose-to-128",
        "258-code-points-compose-to-129",
    ],
)
def test_length_counts_code_points_after_nfkc(password: str, code: str | None) -> None:
    assert rejection_code(password) == code


@pytest.mark.parametrize(
    "password",
    ["password1", "Password1", "PASSWORD1", "iloveyou", "QwErTyUiOp", "12345678", "LetMeIn!"],
)
def test_common_passwords_refused_whatever_the_case(password: str) -> None:
    assert rejection_code(password) == "password/too-common"


def test_common_list_is_checked_after_normalisation() -> None:
    fullwidth_password1 = "\uff30\uff41\uff53\uff53\uff57\uff4f\uff52\uff44\uff11"
    assert rejection_code(fullwidth_password1) == "password/too-common"


def test_bundled_list_is_the_whole_list() -> None:
    # The file's last entry, and one with inner spaces: a truncated list, or one split on
    # whitespace, would let them through.
    assert rejection_code("fallen_angel") == "password/too-common"
    assert rejection_code("friend of emily") == "password/too-common"


@pytest.mark.parametrize(
    "password",
    [EMAIL, EMAIL.lower(), "alice.music", "ALICE.MUSIC", "my-alice.music@example.com-pw"],
)
def test_email_or_local_part_refused(password: str) -> None:
    assert rejection_code(password, email=EMAIL) == "password/contains-email"


def test_other_passwords_pass_with_an_email() -> None:
    assert rejection_code("alice.music.2024", email=EMAIL) is None
    assert rejection_code("tQ7vx2pk", email=EMAIL) is None


def test_email_rule_only_applies_with_an_email() -> None:
    assert rejection_code("alice.music") is None


async def test_hash_verify_roundtrip(hasher: PasswordHasher) -> None:
    stored = await hasher.hash("zebra quilt lantern")

    assert await hasher.verify(stored, "zebra quilt lantern")
    assert not await hasher.verify(stored, "zebra quilt lanterN")
    assert not await hasher.verify(stored, "")


async def test_same_password_hashes_differently(hasher: PasswordHasher) -> None:
    first = await hasher.hash("zebra quilt lantern")
    second = await hasher.hash("zebra quilt lantern")

    assert first != second
    assert await hasher.verify(first, "zebra quilt lantern")
    assert await hasher.verify(second, "zebra quilt lantern")


async def test_verify_matches_either_unicode_form(hasher: PasswordHasher) -> None:
    stored = await hasher.hash("caf\u00e9 con leche")

    assert await hasher.verify(stored, "cafe\u0301 con leche")


@pytest.mark.parametrize(
    "stored_hash",
    [
        "",
        "not-a-hash",
        "$argon2id$v=19$m=19456,t=2,p=1$bm90LWEtc2FsdA$bm90LWEtaGFzaA",
        "$argon2id$v=19$m=oops,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
        "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
        "$argon2id$v=19$m=19456,t=2,p=1$\u00e9\u00e9$\u00e9\u00e9",
    ],
    ids=["empty", "text", "wrong-digest", "bad-parameters", "bcrypt", "non-ascii"],
)
async def test_invalid_hash_is_false_not_an_error(hasher: PasswordHasher, stored_hash: str) -> None:
    assert await hasher.verify(stored_hash, "zebra quilt lantern") is False


async def test_encoded_hash_is_argon2id_at_owasp_strength_or_more(
    hasher: PasswordHasher,
) -> None:
    stored = await hasher.hash("zebra quilt lantern")
    parameters = argon2.extract_parameters(stored)

    assert stored.startswith("$argon2id$")
    assert parameters.type is argon2.Type.ID
    assert parameters.memory_cost >= OWASP_ARGON2_MINIMUM["memory_kib"]
    assert parameters.time_cost >= OWASP_ARGON2_MINIMUM["time_cost"]
    assert parameters.parallelism >= OWASP_ARGON2_MINIMUM["parallelism"]


async def test_hash_carries_the_configured_parameters() -> None:
    settings = UsersSettings(argon2_memory_kib=20_480, argon2_time_cost=3, argon2_parallelism=2)
    stored = await PasswordHasher.from_settings(settings).hash("zebra quilt lantern")
    parameters = argon2.extract_parameters(stored)

    assert (parameters.memory_cost, parameters.time_cost, parameters.parallelism) == (20_480, 3, 2)


@pytest.mark.parametrize("weakened", [{"memory_kib": 19_455}, {"time_cost": 1}, {"parallelism": 0}])
def test_parameters_below_owasp_minimum_refused(weakened: dict[str, int]) -> None:
    parameters = {**OWASP_ARGON2_MINIMUM, "concurrency": 1, **weakened}

    with pytest.raises(ValueError, match="OWASP minimum"):
        PasswordHasher(**parameters)


async def test_needs_rehash_after_parameters_change(hasher: PasswordHasher) -> None:
    stored = await hasher.hash("zebra quilt lantern")
    stronger = PasswordHasher.from_settings(UsersSettings(argon2_time_cost=3))

    assert not hasher.needs_rehash(stored)
    assert stronger.needs_rehash(stored)
    assert await stronger.verify(stored, "zebra quilt lantern")
    assert not stronger.needs_rehash(await stronger.hash("zebra quilt lantern"))


def test_unreadable_hash_needs_rehash(hasher: PasswordHasher) -> None:
    assert hasher.needs_rehash("not-a-hash")


async def test_dummy_verify_does_a_real_verification_with_current_parameters(
    hasher: PasswordHasher, monkeypatch: pytest.MonkeyPatch
) -> None:
    stored = await hasher.hash("zebra quilt lantern")
    verified_hashes: list[str] = []
    original_verify = argon2.PasswordHasher.verify

    def recording_verify(
        self: argon2.PasswordHasher, hash: str | bytes, password: str | bytes
    ) -> Literal[True]:
        verified_hashes.append(hash if isinstance(hash, str) else hash.decode())
        return original_verify(self, hash, password)

    monkeypatch.setattr(argon2.PasswordHasher, "verify", recording_verify)

    await hasher.verify_dummy("wrong guess")
    await hasher.verify_dummy("another guess")
    assert not await hasher.verify(stored, "wrong guess")

    assert hasher.verifications == 3
    assert len(verified_hashes) == 3
    dummy, again, real = (argon2.extract_parameters(h) for h in verified_hashes)
    assert verified_hashes[0] == verified_hashes[1]
    assert verified_hashes[0] != stored
    assert dummy == again == real


async def test_verifications_count_only_verifications(hasher: PasswordHasher) -> None:
    stored = await hasher.hash("zebra quilt lantern")
    assert hasher.verifications == 0

    await hasher.verify(stored, "zebra quilt lantern")
    await hasher.verify("not-a-hash", "zebra quilt lantern")
    await hasher.verify_dummy("zebra quilt lantern")

    assert hasher.verifications == 3


class Occupancy:
    """Counts how many threads are inside argon2's hash function at the same time."""

    def __init__(self, inside_hook: Callable[[], object] = lambda: None) -> None:
        self._lock = threading.Lock()
        self._inside_hook = inside_hook
        self.inside = 0
        self.most = 0
        self.entries = 0

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        original_hash = argon2.PasswordHasher.hash

        def instrumented_hash(
            hasher: argon2.PasswordHasher, password: str | bytes, *, salt: bytes | None = None
        ) -> str:
            with self._lock:
                self.inside += 1
                self.entries += 1
                self.most = max(self.most, self.inside)
            try:
                self._inside_hook()
                return original_hash(hasher, password, salt=salt)
            finally:
                with self._lock:
                    self.inside -= 1

        monkeypatch.setattr(argon2.PasswordHasher, "hash", instrumented_hash)


def hasher_with(concurrency: int) -> PasswordHasher:
    return PasswordHasher(**OWASP_ARGON2_MINIMUM, concurrency=concurrency)


async def test_concurrency_one_hashes_one_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    occupancy = Occupancy()
    occupancy.install(monkeypatch)
    hasher = hasher_with(concurrency=1)
    passwords = [f"zebra quilt lantern {n}" for n in range(5)]

    hashes = await asyncio.gather(*(hasher.hash(p) for p in passwords))

    assert occupancy.entries == 5
    assert occupancy.most == 1
    for password, stored in zip(passwords, hashes, strict=True):
        assert await hasher.verify(stored, password)


async def test_concurrency_three_lets_three_hash_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # The counterpart of the test above: the barrier only opens when three threads are
    # inside together, so it proves the instrument can see overlap and the cap is not 1.
    all_three_inside = threading.Barrier(3, timeout=60)
    occupancy = Occupancy(inside_hook=all_three_inside.wait)
    occupancy.install(monkeypatch)
    hasher = hasher_with(concurrency=3)

    await asyncio.gather(*(hasher.hash(f"zebra quilt lantern {n}") for n in range(3)))

    assert occupancy.most == 3


async def test_cancelled_caller_keeps_its_slot_until_its_thread_ends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first_inside = threading.Event()
    second_inside = threading.Event()
    let_first_finish = threading.Event()

    def hold_the_first() -> None:
        if not first_inside.is_set():
            first_inside.set()
            let_first_finish.wait(timeout=60)
        else:
            second_inside.set()

    occupancy = Occupancy(inside_hook=hold_the_first)
    occupancy.install(monkeypatch)
    hasher = hasher_with(concurrency=1)

    first = asyncio.create_task(hasher.hash("zebra quilt lantern 1"))
    try:
        assert await asyncio.to_thread(first_inside.wait, 60)
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        second = asyncio.create_task(hasher.hash("zebra quilt lantern 2"))

        assert not await asyncio.to_thread(second_inside.wait, 0.2)
        assert occupancy.entries == 1
    finally:
        let_first_finish.set()

    stored = await second
    assert occupancy.entries == 2
    assert occupancy.most == 1
    assert await hasher.verify(stored, "zebra quilt lantern 2")
