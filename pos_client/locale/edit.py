"""Changing catalogs from code: new messages, a new language, texts ported from Python.

What :mod:`pos_client.locale.__main__` runs. Entries are written the way the
project's catalogs hold them: the message id is the key; in every language but
the base one an extracted comment (``#.``) carries the English text. No entry
has the ``python-brace-format`` flag: with keys for ids, ``msgfmt -c`` would
compare a text's ``{placeholders}`` with the key's (none). Placeholders are
checked against the English text instead, here and by the tests.

Imports the standard library only.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from . import (
    BASE_LANGUAGE,
    also_given,
    catalog,
    catalog_path,
    languages,
    placeholder_fault,
    read_catalog,
)
from .po import CatalogError, PoEntry, PoFile, write_po

__all__ = [
    "ENGLISH_NOTE",
    "Change",
    "add_messages",
    "dicts_in_source",
    "header_entry",
    "make_entry",
    "new_language",
]

ENGLISH_NOTE = "#. English: "


def header_entry(domain: str, lang: str) -> PoEntry:
    fields = (
        "Project-Id-Version: pos-client",
        f"Language: {lang}",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=UTF-8",
        "Content-Transfer-Encoding: 8bit",
        f"X-Domain: {domain}",
    )
    return PoEntry(msgid="", msgstr="".join(f"{line}\n" for line in fields))


def make_entry(
    key: str, text: str, *, lang: str, english: str | None = None, notes: tuple[str, ...] = ()
) -> PoEntry:
    """A message as the catalogs hold it (see the module's text)."""
    comments = [f"# {note}" for note in notes]
    if lang != BASE_LANGUAGE and english is not None:
        first, *more = english.split("\n")
        comments.append(f"{ENGLISH_NOTE}{first}".rstrip())
        comments += [f"#. {line}".rstrip() for line in more]
    return PoEntry(msgid=key, msgstr=text, comments=comments)


@dataclass(slots=True)
class Change:
    """What :func:`add_messages` did (or would do, with ``update=False``)."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    differing: list[str] = field(default_factory=list)


def _save(domain: str, lang: str, po: PoFile, root: Path | None) -> None:
    path = catalog_path(domain, lang, root)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(write_po(po), encoding="utf-8")
    catalog.cache_clear()


def add_messages(
    domain: str,
    texts: Mapping[str, Mapping[str, str]],
    *,
    update: bool = False,
    root: Path | None = None,
) -> Change:
    """Add ``texts`` (language → key → text) to the catalogs of ``domain``.

    A key already in a catalog keeps its text unless ``update``; one whose
    text differs is listed in :attr:`Change.differing`. Every language given
    must have a catalog; each text must have the English text's placeholders
    (and may have those an "also given" note of the English entry names).
    Nothing is written unless every text is sound. When an English text
    changes, the English note of that key in every other catalog follows.
    """
    known = languages(domain, root)
    for lang in texts:
        if lang not in known:
            raise CatalogError(f"no {domain!r} catalog for language {lang!r}")
    base_po = read_catalog(domain, BASE_LANGUAGE, root)
    base = base_po.translations()
    also = {e.msgid: also_given(e) for e in base_po.entries if e.msgctxt is None}
    given = texts.get(BASE_LANGUAGE, {})
    english = {
        key: text for key, text in given.items() if key not in base or update
    }  # the English each key will have
    for lang, messages in texts.items():
        for key, text in messages.items():
            source = english.get(key, base.get(key))
            if source is None:
                raise CatalogError(f"{key} ({lang}): give the English text too")
            fault = placeholder_fault(text, source, also.get(key, frozenset()))
            if fault is not None:
                raise CatalogError(f"{key} ({lang}): {fault}")
    change = Change()
    new_english = {k: v for k, v in english.items() if base.get(k) != v}
    for lang in known:
        messages = texts.get(lang, {})
        if not messages and not (new_english and lang != BASE_LANGUAGE):
            continue
        po = read_catalog(domain, lang, root)
        dirty = False
        for key, text in messages.items():
            source = english.get(key, base.get(key, ""))
            entry = po.find(key)
            if entry is None:
                notes = _notes_of(base_po.find(key)) if lang != BASE_LANGUAGE else ()
                po.entries.append(make_entry(key, text, lang=lang, english=source, notes=notes))
                change.added.append(f"{lang}:{key}")
                dirty = True
            elif entry.msgstr != text:
                if not update:
                    change.differing.append(f"{lang}:{key}")
                    continue
                entry.msgstr = text
                change.updated.append(f"{lang}:{key}")
                dirty = True
        if lang != BASE_LANGUAGE:
            for key, source in new_english.items():
                entry = po.find(key)
                if entry is not None:
                    entry.comments = _with_english(entry.comments, lang, source)
                    dirty = True
        if dirty:
            _save(domain, lang, po, root)
    return change


def _notes_of(entry: PoEntry | None) -> tuple[str, ...]:
    """The translator's notes of a base-language entry, for the same entry in another language."""
    if entry is None:
        return ()
    return tuple(c[2:] for c in entry.comments if c.startswith("# "))


def _with_english(comments: list[str], lang: str, english: str) -> list[str]:
    """``comments`` with the English note replaced, in gettext's order of comments."""
    note = make_entry("", "", lang=lang, english=english).comments
    translator = [c for c in comments if c == "#" or c.startswith("# ")]
    others = [c for c in comments if c not in translator and not c.startswith("#.")]
    return translator + note + others


def new_language(domain: str, lang: str, root: Path | None = None) -> Path:
    """Start the catalog of a new language: every message, untranslated, English in comments."""
    path = catalog_path(domain, lang, root)
    if path.exists():
        raise CatalogError(f"{path} exists already")
    base = read_catalog(domain, BASE_LANGUAGE, root)
    entries = [
        make_entry(
            e.msgid,
            "",
            lang=lang,
            english=e.msgstr,
            notes=_notes_of(e),
        )
        for e in base.entries
    ]
    _save(domain, lang, PoFile(header=header_entry(domain, lang), entries=entries), root)
    return path


def dicts_in_source(source: str) -> dict[str, dict[str, str]]:
    """The dict literals of texts in Python source, by language: ``_FA = {...}`` → ``fa``.

    Reads the modules the texts used to live in (``pos_client/tui/i18n.py``
    and ``pos_client/services/doctor_texts.py`` before the catalogs), so a
    branch that added keys to their ``_FA``/``_EN`` dicts can be ported with
    :func:`add_messages`. A text may be a string, a module-level string
    constant by name, or strings and such names joined with ``+``; any other
    value is left out.
    """
    tree = ast.parse(source)
    constants: dict[str, str] = {}
    for statement in tree.body:
        name, value = _assigned(statement)
        if name is not None and value is not None:
            text = _text(value, constants)
            if text is not None:
                constants[name] = text
    found: dict[str, dict[str, str]] = {}
    for node in ast.walk(tree):
        name, value = _assigned(node)
        if name is None or not isinstance(value, ast.Dict):
            continue
        lang = name.strip("_").lower()
        if len(lang) not in (2, 3) or not lang.isalpha():
            continue
        texts: dict[str, str] = {}
        for key, item in zip(value.keys, value.values, strict=True):
            if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
                continue
            text = _text(item, constants)
            if text is not None:
                texts[key.value] = text
        found[lang] = texts
    return found


def _assigned(node: ast.AST) -> tuple[str | None, ast.expr | None]:
    """``NAME = value`` or ``NAME: type = value``: the first name and the value."""
    if isinstance(node, ast.Assign):
        names = [t.id for t in node.targets if isinstance(t, ast.Name)]
        return (names[0] if names else None), node.value
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return node.target.id, node.value
    return None, None


def _text(node: ast.expr, constants: Mapping[str, str]) -> str | None:
    """The string ``node`` stands for: a literal, a known constant, or a sum of those."""
    if isinstance(node, ast.Constant):
        return node.value if isinstance(node.value, str) else None
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _text(node.left, constants), _text(node.right, constants)
        return None if left is None or right is None else left + right
    return None
