"""The fleet view's sentences (``fleet status`` and the fleet page), by key, in a language.

The sentences live in the gettext catalogs of the ``fleet`` domain,
``pos_client/locale/<lang>/LC_MESSAGES/fleet.po`` (``python -m pos_client.locale
add KEY --domain fleet ...``). This module keeps what is code: numbers grouped
by thousands, with Persian digits in Persian; ages in the largest whole unit;
ids kept left to right inside a Persian line.

Imports the catalogs' reader and the domain's digit helper only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from pos_client.domain.money import Lang, to_persian_digits
from pos_client.locale import catalog

__all__ = ["DOMAIN", "age", "ident", "number", "say", "texts"]

#: The gettext domain of the fleet view's sentences.
DOMAIN: Final = "fleet"
_LRI, _PDI = "\u2066", "\u2069"


def texts(lang: str) -> Mapping[str, str]:
    """Every sentence of the fleet view in ``lang`` by key (English where it has none)."""
    return catalog(DOMAIN, lang)


def number(value: int, lang: Lang) -> str:
    """A count or an amount: thousands grouped; Persian digits and separator in Persian."""
    text = f"{value:,}"
    if lang == "fa":
        return to_persian_digits(text.replace(",", "٬"))
    return text


def say(lang: Lang, key: str, /, **values: object) -> str:
    """The sentence ``key`` in ``lang`` with its placeholders filled (ints as :func:`number`)."""
    filled = {k: number(v, lang) if type(v) is int else str(v) for k, v in values.items()}
    return texts(lang)[key].format_map(filled)


def age(seconds: int, lang: Lang) -> str:
    """``42 s``, ``5 min``, ``3 h``, ``2 d``: the largest whole unit."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return say(lang, f"age.{unit}", n=seconds // size)
    return say(lang, "age.s", n=max(seconds, 0))


def ident(text: str, lang: Lang) -> str:
    """An id (store, terminal) kept left to right inside a Persian line."""
    return f"{_LRI}{text}{_PDI}" if lang == "fa" else text
