"""Text that came from elsewhere (catalog names, purse labels), made safe to show and print.

A product's name is data, not layout: the ledger's catalog, an old row in the
store or a purse label must never move the cursor, clear a terminal, start a
new receipt line or mirror the text around it. :func:`safe_text` is the one
sanitiser; the catalog store applies it when a catalog is loaded (and when a
product is read, so rows stored before it existed are safe too), and the
receipt, the printer's renderer and ``receipt show`` apply it again on output.

What it does, in order:

- line and paragraph breaks, tabs and other whitespace (``\\n``, ``\\r``,
  ``\\t``, VT, FF, NEL, U+2028, U+2029) become one space, so a name can never
  forge a line of its own;
- other control characters are dropped: C0 (U+0000-U+001F, ESC among them),
  DEL, C1 (U+0080-U+009F), lone surrogates, and the invisible format
  characters (Unicode category ``Cf``): the bidi embeddings and overrides
  U+202A-U+202E, the isolates U+2066-U+2069, the marks LRM/RLM/ALM
  (U+200E, U+200F, U+061C), BOM, soft hyphen, tags. The screen and the
  printer order right-to-left text themselves; a name has no say in it.
  Dropping ESC leaves the rest of an escape sequence as plain, harmless text;
- the zero-width non-joiner U+200C (نیم‌فاصله, required in Persian words such
  as «می‌شود») and the zero-width joiner U+200D are kept;
- runs of spaces become one; leading and trailing spaces go;
- a text longer than :data:`MAX_NAME_CHARS` characters is cut to that many,
  the last one an ellipsis «…». A cut name still names its product (the GTIN
  is the key), so an absurdly long name never refuses a catalog or a sale.

Pure: imports only the standard library.
"""

from __future__ import annotations

import unicodedata

__all__ = ["MAX_NAME_CHARS", "is_safe_text", "safe_text"]

#: The longest name kept (in characters, after cleaning); longer ones are cut with «…».
MAX_NAME_CHARS = 120

#: Format characters that Persian needs: ZWNJ (U+200C) and ZWJ (U+200D).
_KEPT_FORMAT = frozenset("\u200c\u200d")

#: Category prefixes of characters that are dropped (controls, format, surrogates).
_DROPPED = ("Cc", "Cf", "Cs")

_ELLIPSIS = "…"


def _is_break(char: str) -> bool:
    """A character that would start a new line or move the cursor sideways: shown as a space."""
    return char.isspace() or unicodedata.category(char) in ("Zl", "Zp")


def _dropped(char: str) -> bool:
    return unicodedata.category(char) in _DROPPED and char not in _KEPT_FORMAT


def safe_text(value: object, *, limit: int = MAX_NAME_CHARS) -> str:
    """``value`` as one line of plain text to show or print (see the module's rules).

    Anything that is not a ``str`` (None, a number in a damaged row) gives ``""``.
    """
    if not isinstance(value, str):
        return ""
    if value.replace("\u200c", "").isprintable() and "  " not in value:
        text = value.strip()  # the common case, in one pass of C: nothing to drop
    else:
        out: list[str] = []
        for char in value:
            if _is_break(char):
                if out and out[-1] != " ":
                    out.append(" ")
            elif not _dropped(char):
                out.append(char)
        text = "".join(out).strip()
    if len(text) > limit:
        text = text[: max(0, limit - 1)].rstrip() + _ELLIPSIS
    return text


def is_safe_text(value: str, *, limit: int = MAX_NAME_CHARS) -> bool:
    """Whether :func:`safe_text` would leave ``value`` as it is."""
    return safe_text(value, limit=limit) == value
