"""The program's sentences in gettext catalogs, one ``.po`` file per language.

Catalogs sit in the usual gettext layout, by *domain* (a part of the program:
``tui`` for the checkout screen; a later ``doctor`` domain for the diagnostics
command would sit beside it)::

    pos_client/locale/<lang>/LC_MESSAGES/<domain>.po

Message ids are keys (``basket.title``), so the code asks for a key and the
sentence lives only in the catalogs; the Persian catalog carries the English
text of each key as an extracted comment (``#.``) for translators. The English
catalog is the base: a message missing from another language, untranslated or
marked fuzzy falls back to it, as gettext does. A new language is a new file
(``python -m pos_client.locale new ckb``), found by :func:`languages`.

The ``.po`` files are read at run time (they are package data: no compile step
in a wheel, an editable install or a checkout) by :mod:`pos_client.locale.po`,
once per domain and language.

Imports the standard library only.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Final

from .po import CatalogError, PoFile, read_po

__all__ = [
    "BASE_LANGUAGE",
    "LOCALE_DIR",
    "CatalogError",
    "catalog",
    "catalog_path",
    "languages",
    "placeholders",
    "read_catalog",
]

#: Where the package's catalogs are.
LOCALE_DIR: Final = Path(__file__).resolve().parent
#: The language every other one falls back to, and the template of a new one.
BASE_LANGUAGE: Final = "en"

_LANGUAGE_CODE: Final = re.compile(r"[a-z]{2,3}(_[A-Z]{2})?(@[a-z]+)?")


def catalog_path(domain: str, lang: str, root: Path | None = None) -> Path:
    """The ``.po`` file of ``domain`` in ``lang`` (it need not exist)."""
    return (root or LOCALE_DIR) / lang / "LC_MESSAGES" / f"{domain}.po"


def languages(domain: str, root: Path | None = None) -> tuple[str, ...]:
    """The languages that have a catalog of ``domain``, the base language first."""
    base = root or LOCALE_DIR
    found = sorted(
        entry.name
        for entry in base.iterdir()
        if _LANGUAGE_CODE.fullmatch(entry.name) and catalog_path(domain, entry.name, base).is_file()
    )
    return tuple(sorted(found, key=lambda lang: lang != BASE_LANGUAGE))


def read_catalog(domain: str, lang: str, root: Path | None = None) -> PoFile:
    """The parsed ``.po`` file of ``domain`` in ``lang``, comments and all."""
    path = catalog_path(domain, lang, root)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CatalogError(f"no {domain!r} catalog for language {lang!r} ({path})") from None
    return read_po(text, source=str(path))


def placeholders(text: str) -> frozenset[str]:
    """The ``{names}`` a text expects (every language's text of a key has the same)."""
    return frozenset(name for _, name, _, _ in string.Formatter().parse(text) if name)


@cache
def catalog(domain: str, lang: str, root: Path | None = None) -> Mapping[str, str]:
    """The sentences of ``domain`` in ``lang`` by message id, read once.

    Messages this language lacks (absent, untranslated or fuzzy) are the base
    language's.
    """
    own = read_catalog(domain, lang, root).translations()
    if lang == BASE_LANGUAGE:
        return MappingProxyType(own)
    return MappingProxyType({**catalog(domain, BASE_LANGUAGE, root), **own})
