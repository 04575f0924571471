from __future__ import annotations

import base64
import string
from typing import get_args

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from spotilike.streaming.playback_tokens import (
    MAX_TOKEN_LENGTH,
    MAX_TTL_SECONDS,
    PlaybackKeys,
    PlaybackTokenRejected,
    RejectionReason,
    issue,
    verify,
)

pytestmark = pytest.mark.unit

OLD_SECRET = bytes(range(32))
NEW_SECRET = bytes(range(100, 140))
NOW = 1_700_000_000.25
USER = "0192f0c6-7a55-7cc2-9c4e-5b1f7c3a2d10"
TRACK_A = "0192f0c6-8b11-7d00-a1b2-000000000001"
TRACK_B = "0192f0c6-8b11-7d00-a1b2-000000000002"
TOKEN_ALPHABET = string.ascii_letters + string.digits + "-_."


def keys(current: str = "k2") -> PlaybackKeys:
    return PlaybackKeys({"k1": OLD_SECRET, "k2": NEW_SECRET}, current=current)


def token_for(
    signing: PlaybackKeys | None = None,
    *,
    user_id: str = USER,
    track_id: str = TRACK_A,
    quality: str | None = "high",
    now: float = NOW,
    ttl_seconds: int = MAX_TTL_SECONDS,
) -> str:
    return issue(
        signing or keys(),
        user_id=user_id,
        track_id=track_id,
        quality=quality,
        now=now,
        ttl_seconds=ttl_seconds,
    )


def rejection(
    token: str,
    *,
    verifying: PlaybackKeys | None = None,
    user_id: str = USER,
    track_id: str = TRACK_A,
    quality: str | None = "high",
    now: float = NOW,
) -> RejectionReason:
    with pytest.raises(PlaybackTokenRejected) as caught:
        verify(
            verifying or keys(),
            token,
            user_id=user_id,
            track_id=track_id,
            quality=quality,
            now=now,
        )
    return caught.value.reason


def accepts(token: str, *, verifying: PlaybackKeys | None = None, now: float = NOW) -> bool:
    verify(verifying or keys(), token, user_id=USER, track_id=TRACK_A, quality="high", now=now)
    return True


def replace_part(token: str, index: int, value: str) -> str:
    parts = token.split(".")
    parts[index] = value
    return ".".join(parts)


@pytest.mark.parametrize("quality", ["low", "high", None])
def test_a_fresh_token_verifies_for_its_own_scope(quality: str | None) -> None:
    token = token_for(quality=quality)
    verify(keys(), token, user_id=USER, track_id=TRACK_A, quality=quality, now=NOW)
    kid, expiry, mac = token.split(".")
    assert kid == "k2"
    assert int(expiry) == int(NOW) + MAX_TTL_SECONDS
    assert len(base64.urlsafe_b64decode(mac + "=")) == 32
    assert len(token) <= MAX_TOKEN_LENGTH
    assert set(token) <= set(TOKEN_ALPHABET)


def test_the_same_scope_and_second_give_the_same_token_and_another_user_another() -> None:
    assert token_for() == token_for(now=NOW + 0.5)
    assert token_for() != token_for(user_id="someone-else")


def test_track_b_cannot_be_fetched_with_track_a_token() -> None:
    token = token_for(track_id=TRACK_A)
    assert rejection(token, track_id=TRACK_B) == "bad-signature"


def test_another_user_cannot_use_the_token() -> None:
    assert rejection(token_for(user_id=USER), user_id="0192f0c6-0000-7000-8000-000000000000") == (
        "bad-signature"
    )


@pytest.mark.parametrize(
    ("issued", "requested"),
    [("low", "high"), ("high", "low"), (None, "high"), ("high", None)],
)
def test_quality_scope_must_match_exactly(issued: str | None, requested: str | None) -> None:
    assert rejection(token_for(quality=issued), quality=requested) == "bad-signature"


def test_a_track_wide_token_is_not_an_empty_quality_token() -> None:
    assert rejection(token_for(quality=None), quality="") == "bad-signature"


def test_ids_cannot_be_shifted_between_fields() -> None:
    # Without unambiguous field framing these two scopes could share a MAC input.
    token = token_for(user_id="ab", track_id="c")
    assert rejection(token, user_id="a", track_id="bc") == "bad-signature"


@pytest.mark.parametrize("delta", [1, -1, 3600])
def test_an_edited_expiry_breaks_the_signature(delta: int) -> None:
    token = token_for()
    expiry = int(token.split(".")[1])
    assert rejection(replace_part(token, 1, str(expiry + delta))) == "bad-signature"


def test_swapping_in_another_listed_kid_breaks_the_signature() -> None:
    token = token_for(keys(current="k2"))
    assert rejection(replace_part(token, 0, "k1")) == "bad-signature"


def test_a_kid_nobody_lists_is_an_unknown_key() -> None:
    assert rejection(replace_part(token_for(), 0, "k9")) == "unknown-key"


def test_a_token_signed_with_a_key_we_do_not_hold_is_rejected() -> None:
    foreign = PlaybackKeys({"k2": b"x" * 32}, current="k2")
    assert rejection(token_for(foreign)) == "bad-signature"


@pytest.mark.parametrize("position", [0, 20, 42])
def test_a_flipped_mac_character_breaks_the_signature(position: int) -> None:
    token = token_for()
    mac = token.split(".")[2]
    flipped = "A" if mac[position] != "A" else "B"
    tampered = replace_part(token, 2, mac[:position] + flipped + mac[position + 1 :])
    assert rejection(tampered) == "bad-signature"


def test_another_spelling_of_the_same_mac_bytes_is_rejected() -> None:
    token = token_for()
    mac = token.split(".")[2]
    # The last of 43 base64 characters carries 2 unused bits: these decode identically.
    alphabet = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"
    last = alphabet.index(mac[-1])
    twin = alphabet[last ^ 0b01]
    respelled = replace_part(token, 2, mac[:-1] + twin)
    assert base64.urlsafe_b64decode(respelled.split(".")[2] + "=") == base64.urlsafe_b64decode(
        mac + "="
    )
    assert rejection(respelled) == "bad-signature"


def test_the_token_expires_at_its_expiry_second() -> None:
    token = token_for(now=NOW, ttl_seconds=60)
    expiry = int(token.split(".")[1])
    assert accepts(token, now=expiry - 0.001)
    assert rejection(token, now=expiry) == "expired"
    assert rejection(token, now=expiry + 86_400) == "expired"


def test_the_lifetime_never_exceeds_the_ttl() -> None:
    issued_at = 1_000.999
    token = token_for(now=issued_at, ttl_seconds=MAX_TTL_SECONDS)
    assert int(token.split(".")[1]) - issued_at <= MAX_TTL_SECONDS


def test_a_forged_expired_token_reports_the_signature_not_the_expiry() -> None:
    token = token_for()
    assert rejection(replace_part(token, 1, "1000")) == "bad-signature"


@pytest.mark.parametrize("ttl", [MAX_TTL_SECONDS + 1, 3600, 0, -5])
def test_ttl_outside_one_to_five_minutes_is_refused(ttl: int) -> None:
    with pytest.raises(ValueError, match="ttl_seconds"):
        token_for(ttl_seconds=ttl)


@pytest.mark.parametrize(
    ("field", "value"),
    [("user_id", ""), ("track_id", ""), ("quality", ""), ("now", float("nan"))],
)
def test_issue_refuses_empty_scopes_and_bad_clocks(field: str, value: object) -> None:
    arguments: dict[str, object] = {
        "user_id": USER,
        "track_id": TRACK_A,
        "quality": "high",
        "now": NOW,
    }
    arguments[field] = value
    with pytest.raises(ValueError, match=field.removesuffix("_id")):
        issue(keys(), **arguments)  # type: ignore[arg-type]


def test_rotation_old_tokens_verify_while_the_old_key_is_listed() -> None:
    before = PlaybackKeys({"k1": OLD_SECRET}, current="k1")
    published = PlaybackKeys({"k1": OLD_SECRET, "k2": NEW_SECRET}, current="k1")
    switched = PlaybackKeys({"k1": OLD_SECRET, "k2": NEW_SECRET}, current="k2")
    dropped = PlaybackKeys({"k2": NEW_SECRET}, current="k2")

    old_token = token_for(before)
    assert accepts(old_token, verifying=published)
    assert accepts(old_token, verifying=switched)
    assert rejection(old_token, verifying=dropped) == "unknown-key"

    # Tokens signed after the switch already verify on instances that only published.
    new_token = token_for(switched)
    assert new_token.startswith("k2.")
    assert accepts(new_token, verifying=published)
    assert accepts(new_token, verifying=dropped)
    assert rejection(new_token, verifying=before) == "unknown-key"


@pytest.mark.parametrize(
    ("mapping", "current", "message"),
    [
        ({}, "k1", "at least one"),
        ({"k1": b"short"}, "k1", "at least 32 bytes"),
        ({"k1": b"y" * 31}, "k1", "at least 32 bytes"),
        ({"k1": OLD_SECRET}, "k2", "not among"),
        ({"k 1": OLD_SECRET}, "k 1", "key id"),
        ({"": OLD_SECRET}, "", "key id"),
        ({"k.1": OLD_SECRET}, "k.1", "key id"),
        ({"k" * 17: OLD_SECRET}, "k" * 17, "key id"),
    ],
)
def test_key_sets_are_checked(mapping: dict[str, bytes], current: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PlaybackKeys(mapping, current=current)


def test_keys_are_copied_and_never_shown() -> None:
    mapping = {"k1": OLD_SECRET}
    held = PlaybackKeys(mapping, current="k1")
    token = token_for(held)
    mapping["k1"] = NEW_SECRET
    assert accepts(token, verifying=held)
    assert held.key_ids == frozenset({"k1"})
    assert OLD_SECRET.hex() not in repr(held)
    assert repr(OLD_SECRET) not in repr(held)


@pytest.mark.parametrize(
    "token",
    [
        "",
        ".",
        "..",
        "k2",
        "k2.123",
        "k2..abc",
        "k2.0123.{mac}",  # non-canonical expiry
        "k2.-5.{mac}",
        "k2.1e9.{mac}",
        "k2.{expiry}.{mac}=",  # padding
        "k2.{expiry}.{mac}.",
        ".k2.{expiry}.{mac}",
        "k2.{expiry}.{mac}\n",
        " k2.{expiry}.{mac}",
        "k2.{expiry}.{short_mac}",
        "k2.{expiry}.{mac}A",
        "k2.{expiry}.{slashed_mac}",  # standard base64, not base64url
        "k2.\u0661\u0662\u0663.{mac}",  # Arabic-Indic digits, which \d would accept
        "k\uff12.{expiry}.{mac}",  # fullwidth digit two in the kid
        "k2.{expiry}.{mac}\x00",
        "kkkkkkkkkkkkkkkkk.{expiry}.{mac}",  # kid one longer than allowed
        "k2.1234567890123.{mac}",  # thirteen-digit expiry
    ],
)
def test_malformed_tokens(token: str) -> None:
    genuine = token_for()
    _, expiry, mac = genuine.split(".")
    slashed = "/" + mac[1:]
    filled = token.format(expiry=expiry, mac=mac, short_mac=mac[:-1], slashed_mac=slashed)
    assert rejection(filled) == "malformed"


def test_overlong_tokens_are_rejected_before_parsing() -> None:
    at_limit = "A" * MAX_TOKEN_LENGTH
    assert rejection(at_limit) == "malformed"
    # Long enough that a regex or decode over it would be work: still just "malformed".
    assert rejection(token_for() + "A" * 1_000_000) == "malformed"


_ANY_REASON = set(get_args(RejectionReason))
_TOKEN_SHAPED = st.builds(
    "{}.{}.{}".format,
    st.sampled_from(["k1", "k2", "k3"]),
    st.integers(min_value=1, max_value=10**12 - 1).map(str),
    st.text(alphabet=string.ascii_letters + string.digits + "-_", min_size=43, max_size=43),
)


@given(token=st.one_of(st.text(max_size=400), st.text(TOKEN_ALPHABET, max_size=80), _TOKEN_SHAPED))
@example(token="k2.1700000300.")
@example(token="k1." + "9" * 12 + "." + "A" * 43)
def test_arbitrary_strings_never_verify(token: str) -> None:
    with pytest.raises(PlaybackTokenRejected) as caught:
        verify(keys(), token, user_id=USER, track_id=TRACK_A, quality="high", now=NOW)
    assert caught.value.reason in _ANY_REASON


@given(
    position=st.integers(min_value=0),
    replacement=st.characters(),
)
def test_any_single_character_edit_of_a_genuine_token_is_rejected(
    position: int, replacement: str
) -> None:
    token = token_for()
    index = position % len(token)
    edited = token[:index] + replacement + token[index + 1 :]
    assume(edited != token)
    with pytest.raises(PlaybackTokenRejected) as caught:
        verify(keys(), edited, user_id=USER, track_id=TRACK_A, quality="high", now=NOW)
    assert caught.value.reason in _ANY_REASON


@given(
    user_id=st.text(min_size=1, max_size=50),
    track_id=st.text(min_size=1, max_size=50),
    quality=st.none() | st.text(min_size=1, max_size=10),
    now=st.floats(min_value=0, max_value=4e9),
)
def test_any_scope_round_trips_and_binds(
    user_id: str, track_id: str, quality: str | None, now: float
) -> None:
    token = issue(keys(), user_id=user_id, track_id=track_id, quality=quality, now=now)
    verify(keys(), token, user_id=user_id, track_id=track_id, quality=quality, now=now)
    with pytest.raises(PlaybackTokenRejected, match="bad-signature"):
        verify(keys(), token, user_id=user_id + "x", track_id=track_id, quality=quality, now=now)
    with pytest.raises(PlaybackTokenRejected, match="bad-signature"):
        verify(keys(), token, user_id=user_id, track_id=track_id + "x", quality=quality, now=now)
