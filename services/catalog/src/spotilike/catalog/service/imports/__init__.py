"""Bulk import of artists, albums and tracks: one track per row, from JSON or CSV.

A row names its artist and its album; the import finds them (the artist by its exact
normalized name, the album among that artist's albums by the titles' duplicate key) or
creates them, then creates the track. Every creation goes through the use case a single
edit uses (``create_artist``, ``create_album``, ``create_track``), so validation,
duplicates, ownership, events and page invalidation follow the API's rules, not a copy of
them: an ARTIST's import can only add to the artist they manage, and only an ADMIN's import
creates artists.

Rows stand alone rather than all or nothing. A label's file of thousands of tracks with
three bad rows should land the rest and say which three to fix; importing the corrected
file again is safe, because a track that already exists comes back as a duplicate with its
id instead of being created twice. There is no ``atomic`` mode: the use cases commit their
own transactions (which is what keeps them the one home of the rules), so undoing rows
already committed would take compensating deletes, each with events of its own.

What a failed row leaves behind: its values (names, identifiers, dates, genre slugs,
featured artists) are checked before anything is created, so a row rejected for its values
creates nothing. A row refused by what the catalog already holds (the title or ISRC is
taken, the position on the disc is occupied) can fail after its artists or album were
made; those stay, being valid on their own, and the next run finds them.

Album fields on a row (type, date, UPC, label, cover, genres) are applied when the import
creates the album. For an album that exists they are still checked, so a row is judged the
same on every run, but not applied: changing an album is an edit, not an import.

The parts: ``rows`` reads the body into rows, ``checks`` judges a row's values before
anything is created, ``importer`` finds or creates what each row names, and ``report``
holds the answer an import gives.
"""

from __future__ import annotations

from spotilike.catalog.service.imports.importer import import_catalog, require_importer
from spotilike.catalog.service.imports.report import ImportCounts, ImportReport, RowError
from spotilike.catalog.service.imports.rows import (
    COLUMNS,
    LIST_SEPARATOR,
    REQUIRED_COLUMNS,
    ImportFormat,
    ImportRow,
    RawRow,
    parse_rows,
)

__all__ = [
    "COLUMNS",
    "LIST_SEPARATOR",
    "REQUIRED_COLUMNS",
    "ImportCounts",
    "ImportFormat",
    "ImportReport",
    "ImportRow",
    "RawRow",
    "RowError",
    "import_catalog",
    "parse_rows",
    "require_importer",
]
