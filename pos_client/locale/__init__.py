"""The program's sentences in gettext catalogs, one ``.po`` file per language.

Catalogs sit in the usual gettext layout, by *domain* (a part of the program:
``tui`` for the checkout screen, ``doctor`` for the lane doctor)::

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

from .po import CatalogError, PoEntry, PoFile, read_po

__all__ = [
    "ALSO_GIVEN",
    "BASE_LANGUAGE",
    "LOCALE_DIR",
    "CatalogError",
    "also_given",
    "catalog",
    "catalog_path",
    "domains",
    "languages",
    "placeholder_fault",
    "placeholders",
    "read_catalog",
]

#: Where the package's catalogs are.
LOCALE_DIR: Final = Path(__file__).resolve().parent
#: The language every other one falls back to, and the template of a new one.
BASE_LANGUAGE: Final = "en"
#: A note on an English entry naming values the code gives the message beyond
#: those its English text uses (``# also given: {url}``): a translation may use
#: them too. The note is copied to every language's entry for its translator.
ALSO_GIVEN: Final = "# also given: "

_LANGUAGE_CODE: Final = re.compile(r"[a-z]{2,3}(_[A-Z]{2})?(@[a-z]+)?")


def catalog_path(domain: str, lang: str, root: Path | None = None) -> Path:
    """The ``.po`` file of ``domain`` in ``lang`` (it need not exist)."""
    return (root or LOCALE_DIR) / lang / "LC_MESSAGES" / f"{domain}.po"


def domains(root: Path | None = None) -> tuple[str, ...]:
    """The parts of the program with catalogs (``doctor``, ``tui``): the base language's files."""
    folder = (root or LOCALE_DIR) / BASE_LANGUAGE / "LC_MESSAGES"
    return tuple(sorted(path.stem for path in folder.glob("*.po")))


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


def also_given(entry: PoEntry) -> frozenset[str]:
    """The placeholders an :data:`ALSO_GIVEN` note of ``entry`` names (none without one)."""
    return frozenset(
        name
        for comment in entry.comments
        if comment.startswith(ALSO_GIVEN)
        for name in placeholders(comment[len(ALSO_GIVEN) :])
    )


def placeholder_fault(text: str, english: str, also: frozenset[str] = frozenset()) -> str | None:
    """Why ``text`` cannot stand for the English text ``english``, or None if it can.

    A translation has every placeholder of the English text, and no other but
    those the code is said to give too (``also``, from an :data:`ALSO_GIVEN` note).
    """
    own, base = placeholders(text), placeholders(english)
    if base <= own <= base | also:
        return None
    fault = f"placeholders {sorted(own)} differ from the English {sorted(base)}"
    return f"{fault} (also given: {sorted(also)})" if also else fault


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
