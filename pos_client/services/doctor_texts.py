"""The doctor's sentences (see :mod:`pos_client.services.doctor`), by key, in the user's language.

The sentences live in the gettext catalogs of the ``doctor`` domain,
``pos_client/locale/<lang>/LC_MESSAGES/doctor.po`` (read by
:mod:`pos_client.locale`; to add or port texts see ``python -m
pos_client.locale --help``). Each finding has a ``detail`` (what was found,
key ``KEY``) and, unless all is well, an ``advice`` (what to do,
``KEY.advice``); what each check is called is ``label.NAME``, a verdict's word
``verdict.WORD``, the command's own lines ``report.*``.

This module keeps what is code, not sentences: placeholders are filled by
:func:`say`, numbers written with Persian digits in a Persian report (paths,
URLs, versions and commands stay as they are: they are typed as shown). A
Persian sentence holds no English one: what a driver or the network says in
English is replaced by a ``cause.*`` sentence in a Persian report
(:mod:`pos_client.services.doctor.causes`).

No sentence may carry the terminal's token or a national ID: the callers pass
only paths, URLs, versions, counts and the drivers' own messages.

Imports the catalogs' reader and the domain's digit helper only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from pos_client.domain.money import Lang, to_persian_digits
from pos_client.locale import catalog

__all__ = ["DOMAIN", "Lang", "label", "number", "say", "texts"]

#: The gettext domain of the doctor's sentences.
DOMAIN: Final = "doctor"


def texts(lang: str) -> Mapping[str, str]:
    """Every sentence of the doctor in ``lang`` by key (English where it has none), read once."""
    return catalog(DOMAIN, lang)


def number(value: int, lang: Lang) -> str:
    """A count for a sentence: thousands separated, Persian digits in Persian."""
    text = f"{value:,}"
    if lang == "fa":
        return to_persian_digits(text.replace(",", "٬"))
    return text


def say(lang: Lang, key: str, /, **values: object) -> str:
    """The sentence ``key`` in ``lang`` with its placeholders filled (ints as :func:`number`)."""
    template = texts(lang)[key]
    filled = {k: number(v, lang) if type(v) is int else str(v) for k, v in values.items()}
    return template.format_map(filled)


def label(name: str, lang: Lang) -> str:
    """What the check ``name`` (``scanner:virtual://x`` → ``scanner``) is called on screen."""
    base = name.split(":", 1)[0]
    return texts(lang).get(f"label.{base}", base)
