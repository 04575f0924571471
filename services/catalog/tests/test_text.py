from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Callable

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from spotilike.catalog.text import (
    NAME_MAX_LENGTH,
    SLUG_MAX_LENGTH,
    TextRejected,
    clean_name,
    duplicate_key,
    search_key,
    slugify,
    valid_isrc,
    valid_upc,
)

pytestmark = pytest.mark.unit


def fullwidth(ascii_text: str) -> str:
    """The FULLWIDTH forms block mirrors printable ASCII at a fixed offset."""
    return "".join(chr(ord(char) + 0xFEE0) for char in ascii_text)


def rejection(call: Callable[..., str], *args: str, **kwargs: str) -> TextRejected:
    with pytest.raises(TextRejected) as caught:
        call(*args, **kwargs)
    return caught.value


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("  Song  ", "Song"),
        ("Song\t\tTitle", "Song Title"),
        ("Line one\r\nline two", "Line one line two"),
        ("no\u00a0break\u3000space", "no break space"),
        ("Beyonce\u0301", "Beyoncé"),
        ("ﬁre", "ﬁre"),
        ("夜に駆ける", "夜に駆ける"),
        ("👨\u200d👩\u200d👧", "👨\u200d👩\u200d👧"),
        ("x" * NAME_MAX_LENGTH, "x" * NAME_MAX_LENGTH),
    ],
)
def test_clean_name_normalizes(raw: str, cleaned: str) -> None:
    assert clean_name(raw, field="title") == cleaned


def test_clean_name_stores_nfc_not_nfkc() -> None:
    cleaned = clean_name("e\u0301 ﬁ ²", field="title")

    assert cleaned == unicodedata.normalize("NFC", "e\u0301 ﬁ ²")
    assert cleaned != unicodedata.normalize("NFKC", cleaned)


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("Bad\x00name", "control characters (found U+0000)"),
        ("Bad\x1bname", "control characters (found U+001B)"),
        ("Bad\x1cname", "control characters (found U+001C)"),
        ("Bad\x7fname", "control characters (found U+007F)"),
        ("evil\u202eeman", "control characters (found U+202E)"),
        ("isolate\u2066d", "control characters (found U+2066)"),
        ("private\ue000use", "private-use characters (found U+E000)"),
        ("plane\U000f0000fifteen", "private-use characters (found U+F0000)"),
        ("un\u0378assigned", "unassigned code points (found U+0378)"),
        ("non\ufffecharacter", "unassigned code points (found U+FFFE)"),
        ("lone\ud800surrogate", "unpaired surrogates (found U+D800)"),
        ("", "must not be empty"),
        (" \t\n ", "must not be empty"),
        ("\u200b", "at least one visible character"),
        ("\u200b \u00ad", "at least one visible character"),
        ("x" * (NAME_MAX_LENGTH + 1), f"at most {NAME_MAX_LENGTH} characters long, not 201"),
    ],
)
def test_clean_name_refuses(raw: str, fragment: str) -> None:
    refused = rejection(clean_name, raw, field="artist_name")

    assert refused.field == "artist_name"
    assert fragment in refused.message
    assert str(refused) == f"artist_name: {refused.message}"


def test_clean_name_length_counts_after_cleaning() -> None:
    padded = "  " + "a  " * 100

    assert clean_name(padded, field="title") == " ".join(["a"] * 100)


def test_text_rejected_is_a_value_error() -> None:
    assert isinstance(TextRejected("title", "must not be empty"), ValueError)


@given(st.text())
@example("\u00a8")
def test_clean_name_output_is_stable_and_tidy(raw: str) -> None:
    try:
        cleaned = clean_name(raw, field="title")
    except TextRejected:
        return
    assert clean_name(cleaned, field="title") == cleaned
    assert unicodedata.is_normalized("NFC", cleaned)
    assert cleaned == cleaned.strip()
    assert "  " not in cleaned
    assert 1 <= len(cleaned) <= NAME_MAX_LENGTH
    assert not any(unicodedata.category(char) in {"Cc", "Cn", "Co", "Cs"} for char in cleaned)
    assert duplicate_key(cleaned)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Song (feat. X)", "song"),
        ("Song [ft. X]", "Song"),
        ("Song {featuring X}", "Song"),
        ("Song (with X)", "Song"),
        ("Song (feat X", "Song"),
        ("Song feat. X", "Song"),
        ("Song - feat. X", "Song"),
        ("Song \u2013 ft X", "Song"),
        ("Song ft. X & Y", "Song"),
        ("Song featuring X, Y and Z", "Song"),
        ("Song feat. X (Live)", "Song (Live)"),
        ("Song feat. Jay-Z - Remix", "Song - Remix"),
        ("Song (Live) [feat. X]", "Song (Live)"),
        (fullwidth("Song(feat.X)"), "Song"),
        ("Beyoncé", "Beyonce"),
        ("BEYONCÉ", "beyonce"),
        ("Don't Stop", "Dont  Stop"),
        ("Don\u2019t Stop", "Dont Stop"),
        ("Don\u00b4t Stop", "Dont Stop"),
        ("Don\uff07t Stop", "Dont Stop"),
        ("S.O.S.", "SOS"),
        ("Song: Part 2", "Song Part 2"),
        ("Rock-n-Roll", "Rock n Roll"),
        ("So\u00adng", "Song"),
        ("So\u200bng", "Song"),
        ("Straße", "STRASSE"),
        ("Bjørk", "Bjork"),
        ("Ångström", "angstrom"),
        ("Việt Nam", "Viet Nam"),
        ("Άλφα", "αλφα"),
        ("ﬁre", "fire"),
        ("Track ²", "Track 2"),
        ("ﾊﾞｽ", "バス"),
    ],
)
def test_duplicate_key_merges(first: str, second: str) -> None:
    assert duplicate_key(first) == duplicate_key(second)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Song", "Song (Live)"),
        ("Song", "Song (Remix)"),
        ("Song", "Song - Acoustic"),
        ("Song", "Song [Radio Edit]"),
        ("Song (Live)", "Song (Remix)"),
        ("Song feat. X - Remix", "Song"),
        ("Dance With Me", "Dance"),
        ("Six Ft Under", "Six"),
        ("A Feat of Strength", "A"),
        ("Song 2", "Song 3"),
        ("バス", "ハス"),
        ("ガ", "カ"),
        ("й", "и"),
        ("Кино", "Звезда"),
        ("कुल", "कल"),
        ("!!!", "???"),
        ("!!!", "!"),
        ("+", "÷"),
        ("(feat. X)", "(feat. Y)"),
        ("\u00a8", "\u02dc"),
    ],
)
def test_duplicate_key_keeps_apart(first: str, second: str) -> None:
    assert duplicate_key(first) != duplicate_key(second)


@pytest.mark.parametrize(
    "title", ["夜に駆ける", "Звезда по имени Солнце", "아이유", "नमस्ते", "2112", "!!!", "♥"]
)
def test_duplicate_key_is_never_empty_for_visible_titles(title: str) -> None:
    assert duplicate_key(title)


def test_duplicate_key_keeps_non_latin_letters() -> None:
    assert duplicate_key("Звезда по имени Солнце") == "звезда по имени солнце"
    assert duplicate_key("夜に駆ける (Live)") == "夜に駆ける live"


def test_duplicate_key_keeps_words_of_version_brackets() -> None:
    assert duplicate_key("Song (Live at Wembley) [feat. X]") == "song live at wembley"


def test_duplicate_key_falls_back_to_the_search_key() -> None:
    assert duplicate_key("!!!") == search_key("!!!")
    assert duplicate_key("(feat. X)") == search_key("(feat. X)")


@given(st.text())
@example("Song 'featuring' X")
@example("\u0301featuring x")
@example("\u2665\u0301featuring y")
@example("Don\uff40t")
def test_duplicate_key_is_idempotent(title: str) -> None:
    key = duplicate_key(title)

    assert duplicate_key(key) == key


title_words = st.sampled_from(
    ["Song", "Don't", "Beyoncé", "LIVE", "Remix", "夜", "Кино", "2", "feat.", "ft.", "with"]
)
title_glue = st.sampled_from([" ", "  ", " - ", " (", ") ", " [", "] ", "!", "\u2019", ". "])


@given(st.lists(st.tuples(title_words, title_glue), min_size=1, max_size=8))
def test_duplicate_key_is_idempotent_for_title_like_text(parts: list[tuple[str, str]]) -> None:
    key = duplicate_key("".join(word + glue for word, glue in parts))

    assert key
    assert duplicate_key(key) == key


@given(st.text(alphabet=string.ascii_letters + string.digits + " .'-()"))
def test_duplicate_key_ignores_case(title: str) -> None:
    assert duplicate_key(title.upper()) == duplicate_key(title.lower())


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Beyoncé", "BEYONCE"),
        ("  Beyoncé   Knowles ", "beyonce knowles"),
        ("Motörhead", "motorhead"),
        ("Don\u2019t Stop", "don't stop"),
        (fullwidth("Queen"), "queen"),
        ("Straße", "strasse"),
        ("Sigur Rós", "sigur ros"),
    ],
)
def test_search_key_matches(first: str, second: str) -> None:
    assert search_key(first) == search_key(second)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("AC/DC", "ACDC"),
        ("Don't Stop", "Dont Stop"),
        ("Song (Live)", "Song Live"),
        ("й", "и"),
    ],
)
def test_search_key_keeps_punctuation_and_letters_apart(first: str, second: str) -> None:
    assert search_key(first) != search_key(second)


def test_search_key_trims_and_collapses_whitespace() -> None:
    assert search_key("\t Sigur   Rós \n") == "sigur ros"


@given(st.text(alphabet=string.ascii_letters + string.digits + string.punctuation + " "))
def test_search_key_ignores_ascii_case(text: str) -> None:
    assert search_key(text.upper()) == search_key(text.lower())


@given(st.text())
def test_search_key_is_idempotent(text: str) -> None:
    key = search_key(text)

    assert search_key(key) == key


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("USRC17607839", "USRC17607839"),
        ("US-RC1-76-07839", "USRC17607839"),
        ("us-rc1-76-07839", "USRC17607839"),
        ("  gbayE0601498 ", "GBAYE0601498"),
    ],
)
def test_valid_isrc_accepts(raw: str, canonical: str) -> None:
    assert valid_isrc(raw) == canonical


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "USRC1760783",
        "USRC176078390",
        "1SRC17607839",
        "US-RC176-07839",
        "USRC1-76-07839",
        "US_RC1_76_07839",
        "USRC1A607839",
        "USRC17607A39",
        "US RC1 76 07839",
        "USRC1760783\u0669",
        "ßRC17607839",
    ],
)
def test_valid_isrc_refuses(raw: str) -> None:
    refused = rejection(valid_isrc, raw)

    assert refused.field == "isrc"
    assert "CC-XXX-YY-NNNNN" in refused.message


isrc_parts = st.tuples(
    st.text(alphabet=string.ascii_letters, min_size=2, max_size=2),
    st.text(alphabet=string.ascii_letters + string.digits, min_size=3, max_size=3),
    st.text(alphabet=string.digits, min_size=2, max_size=2),
    st.text(alphabet=string.digits, min_size=5, max_size=5),
)


@given(isrc_parts, st.booleans())
def test_valid_isrc_canonicalizes_generated_codes(
    parts: tuple[str, str, str, str], hyphenated: bool
) -> None:
    raw = ("-" if hyphenated else "").join(parts)

    assert valid_isrc(raw) == "".join(parts).upper()
    assert re.fullmatch("[A-Z]{2}[A-Z0-9]{3}[0-9]{7}", valid_isrc(raw))


def gtin13_check_digit(first_twelve: str) -> int:
    """Written the way GS1 documents EAN-13: weights 1, 3, 1 ... from the left."""
    total = sum(
        int(digit) * (1 if index % 2 == 0 else 3) for index, digit in enumerate(first_twelve)
    )
    return (10 - total % 10) % 10


def with_check_digit(body: str) -> str:
    # A UPC-A is an EAN-13 with a leading zero, so one left-to-right formula serves both.
    return body + str(gtin13_check_digit(body.rjust(12, "0")))


@pytest.mark.parametrize(
    ("raw", "digits"),
    [
        ("036000291452", "036000291452"),
        ("4006381333931", "4006381333931"),
        ("0 36000 29145 2", "036000291452"),
        ("400-6381-33393-1", "4006381333931"),
        (" 036000291452 ", "036000291452"),
    ],
)
def test_valid_upc_accepts(raw: str, digits: str) -> None:
    assert valid_upc(raw) == digits


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("036000291453", "wrong check digit: the last digit should be 2, not 3"),
        ("4006381333932", "wrong check digit: the last digit should be 1, not 2"),
        ("03600029145", "12 digits (UPC-A) or 13 digits (EAN-13), not 11"),
        ("40063813339310", "not 14"),
        ("", "not 0"),
        ("03600029145X", "only digits"),
        ("03600029145\u0662", "only digits"),
        ("036000_291452", "only digits"),
    ],
)
def test_valid_upc_refuses(raw: str, fragment: str) -> None:
    refused = rejection(valid_upc, raw)

    assert refused.field == "upc"
    assert fragment in refused.message


upc_bodies = st.integers(min_value=11, max_value=12).flatmap(
    lambda length: st.text(alphabet=string.digits, min_size=length, max_size=length)
)


@given(upc_bodies)
def test_valid_upc_accepts_computed_check_digits(body: str) -> None:
    code = with_check_digit(body)

    assert valid_upc(code) == code


@given(upc_bodies, st.data())
def test_valid_upc_refuses_any_single_changed_digit(body: str, data: st.DataObject) -> None:
    code = with_check_digit(body)
    position = data.draw(st.integers(min_value=0, max_value=len(code) - 1))
    replacement = data.draw(st.sampled_from(string.digits).filter(lambda d: d != code[position]))
    changed = code[:position] + replacement + code[position + 1 :]

    refused = rejection(valid_upc, changed)

    assert "check digit" in refused.message


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Música Latina", "musica-latina"),
        ("Hip-Hop / Rap", "hip-hop-rap"),
        ("  Drum & Bass  ", "drum-bass"),
        ("Children's Music", "childrens-music"),
        ("K-Pop", "k-pop"),
        ("Straße", "strasse"),
        ("Øresund Sound", "oresund-sound"),
        ("90s", "90s"),
        ("--Lo--Fi--", "lo-fi"),
        (fullwidth("Jazz"), "jazz"),
        ("x" * SLUG_MAX_LENGTH, "x" * SLUG_MAX_LENGTH),
    ],
)
def test_slugify(name: str, slug: str) -> None:
    assert slugify(name) == slug


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("", "at least one Latin letter or digit"),
        ("!!!", "at least one Latin letter or digit"),
        ("Русский рок", "at least one Latin letter or digit"),
        ("x" * (SLUG_MAX_LENGTH + 1), f"at most {SLUG_MAX_LENGTH} characters long, not 65"),
    ],
)
def test_slugify_refuses(name: str, fragment: str) -> None:
    refused = rejection(slugify, name)

    assert refused.field == "slug"
    assert fragment in refused.message


@given(st.text())
def test_slugify_output_is_always_a_slug(name: str) -> None:
    try:
        slug = slugify(name)
    except TextRejected:
        return
    assert re.fullmatch("[a-z0-9]+(?:-[a-z0-9]+)*", slug)
    assert len(slug) <= SLUG_MAX_LENGTH
    assert slugify(slug) == slug
