"""A small reader and writer of gettext ``.po`` files.

The catalogs under :mod:`pos_client.locale` are read at start-up straight from
their ``.po`` source (no compile step: a wheel, an editable install and a
checkout all hold the same files). This module reads what the project's
catalogs use and what Poedit and Weblate write: comments of every kind, flags,
``msgctxt``, strings continued over several lines, C escapes. Plural entries
(``msgid_plural``) are refused with the line they are on: plural rules of the
screen's sentences live in Python (:mod:`pos_client.tui.i18n`).

Entries keep their comment lines as written, so a catalog read and written
back (:func:`write_po`) is unchanged but for what was edited.

Imports the standard library only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

__all__ = ["CatalogError", "PoEntry", "PoFile", "format_entry", "read_po", "write_po"]

_ESCAPES: Final = {
    "n": "\n",
    "t": "\t",
    "r": "\r",
    '"': '"',
    "\\": "\\",
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "v": "\v",
}
_QUOTE: Final = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}


class CatalogError(ValueError):
    """A catalog that cannot be read: the file and line are in the message."""


@dataclass(slots=True)
class PoEntry:
    """One message: its id, its translation and the comment lines above it."""

    msgid: str
    msgstr: str = ""
    msgctxt: str | None = None
    comments: list[str] = field(default_factory=list)
    line: int = 0

    @property
    def flags(self) -> frozenset[str]:
        """The ``#,`` flags (``fuzzy``, ``python-brace-format`` …)."""
        return frozenset(
            flag.strip()
            for comment in self.comments
            if comment.startswith("#,")
            for flag in comment[2:].split(",")
            if flag.strip()
        )

    @property
    def fuzzy(self) -> bool:
        return "fuzzy" in self.flags

    @property
    def key(self) -> str:
        """The id gettext looks the message up by (context and id)."""
        return self.msgid if self.msgctxt is None else f"{self.msgctxt}\x04{self.msgid}"


@dataclass(slots=True)
class PoFile:
    """A catalog: its header entry (``msgid ""``) and its messages, in file order."""

    header: PoEntry | None
    entries: list[PoEntry]
    trailing: list[str] = field(default_factory=list)

    def translations(self) -> dict[str, str]:
        """What gettext would use: translated, not fuzzy, by :attr:`PoEntry.key`."""
        return {e.key: e.msgstr for e in self.entries if e.msgstr and not e.fuzzy}

    def find(self, key: str) -> PoEntry | None:
        return next((e for e in self.entries if e.key == key), None)

    @property
    def language(self) -> str | None:
        """The ``Language:`` field of the header."""
        if self.header is None:
            return None
        for line in self.header.msgstr.splitlines():
            name, _, value = line.partition(":")
            if name.strip().lower() == "language":
                return value.strip() or None
        return None


def _unquote(token: str, where: str) -> str:
    if len(token) < 2 or token[0] != '"' or token[-1] != '"':
        raise CatalogError(f"{where}: a string in double quotes was expected")
    body = token[1:-1]
    if "\\" not in body:
        if '"' in body:
            raise CatalogError(f"{where}: unescaped double quote")
        return body
    out: list[str] = []
    chars = iter(body)
    for char in chars:
        if char == '"':
            raise CatalogError(f"{where}: unescaped double quote")
        if char != "\\":
            out.append(char)
            continue
        escaped = next(chars, "")
        if escaped not in _ESCAPES:
            raise CatalogError(f"{where}: unknown escape \\{escaped}")
        out.append(_ESCAPES[escaped])
    return "".join(out)


def read_po(text: str, *, source: str = "<catalog>") -> PoFile:
    """Parse the text of a ``.po`` file."""
    header: PoEntry | None = None
    entries: list[PoEntry] = []
    comments: list[str] = []
    fields: dict[str, list[str]] = {}
    current: list[str] | None = None
    start = 0

    def finish() -> None:
        nonlocal header, current, comments, fields
        if not fields:
            return
        if "msgid" not in fields or "msgstr" not in fields:
            raise CatalogError(f"{source}:{start}: an entry needs both msgid and msgstr")
        entry = PoEntry(
            msgid="".join(fields["msgid"]),
            msgstr="".join(fields["msgstr"]),
            msgctxt="".join(fields["msgctxt"]) if "msgctxt" in fields else None,
            comments=comments,
            line=start,
        )
        if entry.msgid == "" and entry.msgctxt is None:
            if header is not None or entries:
                raise CatalogError(f"{source}:{start}: the header entry must come first")
            header = entry
        else:
            entries.append(entry)
        comments, fields, current = [], {}, None

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        where = f"{source}:{number}"
        if not line:
            finish()
            continue
        if line.startswith("#"):
            finish()
            comments.append(raw.rstrip())
            continue
        if line.startswith('"'):
            if current is None:
                raise CatalogError(f"{where}: a continued string outside an entry")
            current.append(_unquote(line, where))
            continue
        keyword, _, rest = line.partition(" ")
        if keyword in ("msgid_plural",) or keyword.startswith("msgstr["):
            raise CatalogError(f"{where}: plural entries are not used (plural rules are in Python)")
        if keyword not in ("msgctxt", "msgid", "msgstr"):
            raise CatalogError(f"{where}: unknown keyword {keyword!r}")
        if keyword in ("msgctxt", "msgid") and "msgstr" in fields:
            finish()
        if keyword in fields:
            raise CatalogError(f"{where}: {keyword} given twice in one entry")
        if not fields:
            start = number
        current = fields[keyword] = [_unquote(rest.strip(), where)]
    finish()
    return PoFile(header=header, entries=entries, trailing=comments)


def _quote_lines(keyword: str, text: str) -> list[str]:
    def quoted(part: str) -> str:
        return '"' + "".join(_QUOTE.get(c, c) for c in part) + '"'

    parts = text.splitlines(keepends=True)
    if len(parts) <= 1:
        return [f"{keyword} {quoted(text)}"]
    return [f'{keyword} ""', *(quoted(part) for part in parts)]


def format_entry(entry: PoEntry) -> str:
    """One entry as it stands in the file (without the blank line after it)."""
    lines = list(entry.comments)
    if entry.msgctxt is not None:
        lines += _quote_lines("msgctxt", entry.msgctxt)
    lines += _quote_lines("msgid", entry.msgid)
    lines += _quote_lines("msgstr", entry.msgstr)
    return "\n".join(lines)


def write_po(catalog: PoFile) -> str:
    """The text of ``catalog`` as a ``.po`` file (UTF-8, entries one blank line apart)."""
    blocks: Iterable[PoEntry] = (
        [catalog.header, *catalog.entries] if catalog.header else catalog.entries
    )
    text = "\n\n".join(format_entry(entry) for entry in blocks) + "\n"
    if catalog.trailing:
        text += "\n" + "\n".join(catalog.trailing) + "\n"
    return text
