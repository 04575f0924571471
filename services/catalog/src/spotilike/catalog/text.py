"""The catalog's rules for text: how names are stored, compared, searched and identified.

Stored names are NFC. NFC only joins a letter and its accent into the one code point a
keyboard would have produced, so what an artist typed is kept exactly as it looks: "ﬁ",
"²" and fullwidth letters stay as written. Keys, which are compared and never shown, are
NFKC: there the compatibility forms are the same as their plain letters and digits, so "ﬁ"
and "fi", fullwidth and ASCII, or a superscript and a digit cannot make two "different"
titles.

Accents are folded in keys only where everyday typing leaves them out: on Latin, Greek,
Arabic and Hebrew letters ("Beyoncé" is "beyonce", Arabic vowel points are optional). In
other scripts the mark makes a different letter: Japanese "ガ" is not "カ", Russian "й" is
not "и", and Devanagari vowel signs are the vowels; there the marks are kept. A few Latin
letters have no decomposition to fold (ø, ł, æ ...) and are spelled out by a small table.
Apostrophe look-alikes (curly quotes, the modifier-letter apostrophe, acute and grave
accents, prime) are one apostrophe in every key, so a phone's curly apostrophe finds a
keyboard's straight one. Invisible format characters (soft hyphen,
zero-width space and joiners, direction marks) are dropped from keys, so they cannot hide
a duplicate or break a search.

Names refuse what cannot be displayed or stored safely: control characters (including the
bidirectional overrides and isolates, which can reorder the text around a name in a
listing), unpaired surrogates (not encodable as UTF-8), private-use code points (no meaning
outside one font) and unassigned code points. "Unassigned" is judged by the Unicode
version of the running Python (``unicodedata.unidata_version``), so an emoji newer than it
is refused until Python catches up. Tabs and line breaks pasted from a spreadsheet are
whitespace and collapse to one space like any other run; other control characters are
refused rather than guessed at.

Identifiers: an ISRC (ISO 3901) names a recording, a UPC-A or EAN-13 (GS1) names a release.
Both are checked by their published format only; whether a registrant or country code has
really been issued is not knowable offline, and the ISRC country part includes IFPI codes
that are not ISO 3166 countries.

These are small rules over the standard library's ``unicodedata``; the slug libraries on
PyPI transliterate every script to ASCII with guesses we would then have to defend, and
none knows the "feat." rules of music titles.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "NAME_MAX_LENGTH",
    "SLUG_MAX_LENGTH",
    "TextRejected",
    "clean_name",
    "duplicate_key",
    "search_key",
    "slugify",
    "valid_isrc",
    "valid_upc",
]

NAME_MAX_LENGTH = 200
SLUG_MAX_LENGTH = 64


class TextRejected(ValueError):  # noqa: N818 - the name is the public API
    """Text a catalog rule refuses; ``message`` can be shown to the user as it is.

    A ``ValueError``, so a Pydantic validator that lets it through reports it as a normal
    validation error.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


# Every character str.isspace() knows except U+001C..U+001F: those "information separators"
# are control characters that no name contains by accident.
_NAME_WHITESPACE = re.compile(
    "[\t\n\v\f\r\x85\u0020\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+"
)
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

# Applied before NFKC, which turns the acute accent into a space and a combining accent, and
# after it, which turns the fullwidth grave accent and Greek varia into a plain grave accent.
_APOSTROPHES = str.maketrans(dict.fromkeys("\u2019\u2018\u02bc\u0060\u00b4\u2032\uff07", "'"))
_LATIN_WITHOUT_DECOMPOSITION = str.maketrans(
    {
        "æ": "ae",
        "œ": "oe",
        "ø": "o",
        "ð": "d",
        "đ": "d",
        "þ": "th",
        "ħ": "h",
        "ł": "l",
        "\u0131": "i",  # dotless i
        "ŧ": "t",
    }
)
_SCRIPTS_WITH_OPTIONAL_MARKS = ("LATIN ", "GREEK ", "ARABIC ", "HEBREW ")

# Characters that sit inside a word ("don't", "s.o.s", "col·lecció"); removing them joins
# the word back together, while any other punctuation separates words.
_INSIDE_WORDS = frozenset("'.\u00b7")

_CREDIT_WORD = r"(?:featuring|feat|ft|with)\b\.?"
_BRACKETED_CREDIT = re.compile(r"[(\[{]\s*" + _CREDIT_WORD + r"[^)\]}]*(?:[)\]}]|$)")
# A trailing credit runs until a bracket or a spaced dash, so "Song feat. Jay-Z - Remix"
# keeps its "remix". Without brackets or a dash only the unambiguous spellings count:
# "Six Ft Under" and "A Feat of Strength" are not credits. "featuring" may follow any
# non-letter, so a key never holds a "featuring" that a second pass would remove.
_TRAILING_CREDIT = re.compile(
    r"(?:\s+(?:feat|ft)\.|(?<=\W)featuring\b|\s*[-\u2010-\u2015]\s*(?:featuring|feat|ft)\b\.?)"
    r"(?:(?!\s[-\u2010-\u2015]\s)[^()\[\]{}])*"
)

_ISRC = re.compile(
    r"(?P<country>[A-Z]{2})(?P<sep>-?)(?P<registrant>[A-Z0-9]{3})(?P=sep)"
    r"(?P<year>[0-9]{2})(?P=sep)(?P<number>[0-9]{5})",
    re.ASCII,
)
_UPC_SEPARATORS = re.compile("[ -]")
_UPC_DIGITS = re.compile("[0-9]*")
_SLUG_SEPARATORS = re.compile("[^a-z0-9]+")


def clean_name(value: str, *, field: str) -> str:
    """The stored form of a name or title: NFC, trimmed, inner whitespace runs as one space.

    Raises ``TextRejected`` for characters that cannot be displayed safely, for a name
    that is empty (or only invisible formatting), and for one longer than
    ``NAME_MAX_LENGTH`` code points after cleaning.
    """
    text = _NAME_WHITESPACE.sub(" ", unicodedata.normalize("NFC", value)).strip(" ")
    for char in text:
        problem = _refusal(char)
        if problem is not None:
            raise TextRejected(field, f"must not contain {problem} (found U+{ord(char):04X})")
    if not text:
        raise TextRejected(field, "must not be empty")
    if all(unicodedata.category(char) == "Cf" for char in text.replace(" ", "")):
        raise TextRejected(field, "must contain at least one visible character")
    if len(text) > NAME_MAX_LENGTH:
        raise TextRejected(
            field, f"must be at most {NAME_MAX_LENGTH} characters long, not {len(text)}"
        )
    return text


def duplicate_key(title: str) -> str:
    """The key under which two titles of one artist count as the same track or album.

    Case, accents, apostrophes, punctuation, spacing and featured-artist credits ("feat.",
    "ft.", "featuring", and "with" in brackets) do not make a new title; version words do:
    "Song (Live)", "Song (Remix)" and "Song - Acoustic" each differ from "Song". A title
    with no letter or digit left ("!!!", "+") falls back to its ``search_key``, which
    keeps the punctuation that tells such titles apart. The key is empty only for text
    with nothing visible in it, which ``clean_name`` refuses.
    """
    folded = _fold(title)
    without_credits = _TRAILING_CREDIT.sub(" ", _BRACKETED_CREDIT.sub(" ", folded))
    if key := _words(without_credits) or folded:
        return key
    # Only combining marks and format characters, all dropped by folding: a lone "¨" is
    # still a title, so it keeps a key of its own.
    return " ".join(unicodedata.normalize("NFKC", title).casefold().split())


def search_key(text: str) -> str:
    """The key for exact-match search: case and accents ignored, punctuation kept.

    "Beyoncé", "BEYONCE" and " beyonce " give one key; "AC/DC" and "ACDC" do not, since an
    exact match means the exact words.
    """
    return _fold(text)


def valid_isrc(value: str) -> str:
    """An ISRC in its canonical form: 12 characters, upper case, no hyphens.

    Accepts CC-XXX-YY-NNNNN with all three hyphens or none, in any case.
    """
    match = _ISRC.fullmatch(value.strip().upper()) if value.isascii() else None
    if match is None:
        raise TextRejected(
            "isrc",
            "must look like CC-XXX-YY-NNNNN: a 2-letter country code, a 3-character "
            "registrant code, 2 digits for the year and 5 digits",
        )
    return "".join(match.group("country", "registrant", "year", "number"))


def valid_upc(value: str) -> str:
    """The digits of a UPC-A (12) or EAN-13 (13) barcode whose GS1 check digit is right.

    Spaces and hyphens between the digits are allowed. The length is kept as given: a
    UPC-A is not widened to its EAN-13 form.
    """
    digits = _UPC_SEPARATORS.sub("", value.strip())
    if _UPC_DIGITS.fullmatch(digits) is None:
        raise TextRejected("upc", "must contain only digits, spaces and hyphens")
    if len(digits) not in (12, 13):
        raise TextRejected(
            "upc", f"must have 12 digits (UPC-A) or 13 digits (EAN-13), not {len(digits)}"
        )
    expected = _gs1_check_digit(digits[:-1])
    if int(digits[-1]) != expected:
        raise TextRejected(
            "upc", f"has a wrong check digit: the last digit should be {expected}, not {digits[-1]}"
        )
    return digits


def slugify(value: str) -> str:
    """A genre slug: lower-case ASCII letters and digits joined by single hyphens.

    Accents are folded ("Música Latina" is "musica-latina") and apostrophes dropped
    ("Children's Music" is "childrens-music"). Letters with no ASCII folding, such as
    Cyrillic or kana, are not transliterated, so a name written only in them is refused.
    """
    slug = _SLUG_SEPARATORS.sub("-", _fold(value).replace("'", "")).strip("-")
    if not slug:
        raise TextRejected("slug", "must contain at least one Latin letter or digit")
    if len(slug) > SLUG_MAX_LENGTH:
        raise TextRejected(
            "slug", f"must be at most {SLUG_MAX_LENGTH} characters long, not {len(slug)}"
        )
    return slug


def _refusal(char: str) -> str | None:
    category = unicodedata.category(char)
    if category == "Cc" or char in _BIDI_CONTROLS:
        return "control characters"
    if category == "Cs":
        return "unpaired surrogates"
    if category == "Co":
        return "private-use characters"
    if category == "Cn":
        return "unassigned code points"
    return None


def _fold(text: str) -> str:
    """NFKC, case-folded, optional accents and format characters dropped, spaces collapsed."""
    normalized = unicodedata.normalize("NFKC", text.translate(_APOSTROPHES))
    folded = unicodedata.normalize("NFKC", normalized.casefold()).translate(_APOSTROPHES)
    kept: list[str] = []
    # Starts true so that a mark with no base character at all is dropped.
    base_takes_no_marks = True
    for char in unicodedata.normalize("NFKD", folded):
        category = unicodedata.category(char)
        if category.startswith("M"):
            if not base_takes_no_marks:
                kept.append(char)
        elif category != "Cf":
            base_takes_no_marks = char.isspace() or unicodedata.name(char, "").startswith(
                _SCRIPTS_WITH_OPTIONAL_MARKS
            )
            kept.append(char)
    composed = unicodedata.normalize("NFC", "".join(kept))
    return " ".join(composed.translate(_LATIN_WITHOUT_DECOMPOSITION).split())


def _words(text: str) -> str:
    """Only letters, digits and their marks; other characters separate words."""
    kept: list[str] = []
    base_kept = False
    for char in text:
        category = unicodedata.category(char)
        if category.startswith("M"):
            if base_kept:
                kept.append(char)
        elif category[0] in "LN":
            base_kept = True
            kept.append(char)
        else:
            base_kept = False
            if char not in _INSIDE_WORDS:
                kept.append(" ")
    return " ".join("".join(kept).split())


def _gs1_check_digit(body: str) -> int:
    # GS1 weights alternate 3, 1, 3 ... from the digit next to the check digit, which makes
    # one rule serve every GTIN length.
    total = sum(int(digit) * (3 if index % 2 == 0 else 1) for index, digit in enumerate(body[::-1]))
    return -total % 10
