"""The catalogs: complete, consistent with the code, extensible by a file, editable by a command."""

from __future__ import annotations

import ast
import shutil
import tomllib
from pathlib import Path

import pytest

import pos_client
from pos_client.locale import (
    BASE_LANGUAGE,
    LOCALE_DIR,
    catalog,
    catalog_path,
    languages,
    placeholders,
    read_catalog,
)
from pos_client.locale.__main__ import main

ROOT = Path(pos_client.__file__).resolve().parent.parent
TUI = ROOT / "pos_client" / "tui"


def _keys_used_by_the_screen() -> tuple[set[str], set[str]]:
    """Keys given to ``t``/``line``/``has`` as literals, and the fixed part of f-string keys."""
    keys: set[str] = set()
    prefixes: set[str] = set()
    for path in TUI.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and node.args):
                continue
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            if name not in ("t", "line", "has"):
                continue
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                keys.add(first.value)
            elif isinstance(first, ast.JoinedStr) and isinstance(first.values[0], ast.Constant):
                prefixes.add(str(first.values[0].value))
    return keys, prefixes


@pytest.fixture
def locale_copy(tmp_path: Path) -> Path:
    root = tmp_path / "locale"
    shutil.copytree(LOCALE_DIR, root, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    yield root
    catalog.cache_clear()


def test_the_screen_has_persian_and_english_and_they_are_complete():
    assert set(languages("tui")) >= {"fa", "en"}
    english = read_catalog("tui", "en").translations()
    for lang in ("fa", "en"):
        po = read_catalog("tui", lang)
        assert {e.msgid for e in po.entries} == set(english), lang
        assert not [e.msgid for e in po.entries if e.fuzzy or not e.msgstr], lang


@pytest.mark.parametrize("lang", languages("tui"))
def test_every_text_has_the_english_placeholders(lang):
    english = read_catalog("tui", BASE_LANGUAGE).translations()
    for key, text in read_catalog("tui", lang).translations().items():
        assert key in english, f"{lang}: {key} is not in the English catalog"
        assert placeholders(text) == placeholders(english[key]), f"{lang}: {key}"


@pytest.mark.parametrize("lang", languages("tui"))
def test_every_key_the_screen_uses_is_in_every_catalog(lang):
    keys, prefixes = _keys_used_by_the_screen()
    assert len(keys) > 100 and "age.now" in keys and "unit." in prefixes
    texts = catalog("tui", lang)
    groups = {"group."}  # group names come from pos_client.services.group_names
    assert sorted(keys - set(texts)) == []
    assert sorted(p for p in prefixes - groups if not any(k.startswith(p) for k in texts)) == []


def test_the_persian_catalog_shows_translators_the_english_text():
    english = read_catalog("tui", "en").translations()
    for entry in read_catalog("tui", "fa").entries:
        notes = [c[3:] for c in entry.comments if c.startswith("#.")]
        assert "\n".join(notes) == f"English: {english[entry.msgid]}", entry.msgid


def test_a_third_language_is_a_new_file(locale_copy: Path):
    assert main(["new", "ckb", "--root", str(locale_copy)]) == 0
    path = catalog_path("tui", "ckb", locale_copy)
    text = path.read_text(encoding="utf-8")
    assert '#. English: Basket\nmsgid "basket.title"\nmsgstr ""' in text
    # a translator fills two messages (as Poedit or Weblate would write them)
    text = text.replace(
        'msgid "basket.title"\nmsgstr ""', 'msgid "basket.title"\nmsgstr "سەبەتە"'
    ).replace(
        'msgid "status.queue"\nmsgstr ""', 'msgid "status.queue"\nmsgstr "ناردن: {count} ({total})"'
    )
    path.write_text(text, encoding="utf-8")

    assert "ckb" in languages("tui", locale_copy)
    texts = catalog("tui", "ckb", locale_copy)
    assert texts["basket.title"] == "سەبەتە"
    assert texts["status.queue"].format(count=3, total="x") == "ناردن: 3 (x)"
    assert texts["key.help"] == "Help"  # not yet translated: the English text
    assert set(texts) == set(catalog("tui", "en", locale_copy))
    assert main(["check", "--root", str(locale_copy)]) == 0


def test_check_finds_a_translation_that_lost_a_placeholder(locale_copy: Path, capsys):
    path = catalog_path("tui", "fa", locale_copy)
    text = path.read_text(encoding="utf-8")
    lost = 'msgid "status.queue"\nmsgstr "در انتظار ارسال: {cuont} ({total})"'
    path.write_text(
        text.replace('msgid "status.queue"\nmsgstr "در انتظار ارسال: {count} ({total})"', lost),
        encoding="utf-8",
    )
    assert main(["check", "--root", str(locale_copy)]) == 1
    assert "fa: status.queue has placeholders ['cuont', 'total']" in capsys.readouterr().out


OLD_STYLE = """
_FA: dict[str, str] = {
    "basket.title": "سبد خرید",
    "key.help": "راهنما",
    # --- added by someone
    "sync.banner": "ارسال {count} خرید",
}
_EN: dict[str, str] = {
    "basket.title": "Basket",
    "key.help": "Help me",
    # --- added by someone
    "sync.banner": "Sending {count} sales",
}
"""


def test_texts_added_to_the_old_dicts_are_ported(locale_copy: Path, tmp_path: Path, capsys):
    source = tmp_path / "i18n.py"
    source.write_text(OLD_STYLE, encoding="utf-8")
    assert main(["port", str(source), "--root", str(locale_copy)]) == 0
    out = capsys.readouterr().out
    assert "added en:sync.banner" in out and "added fa:sync.banner" in out
    assert "differs en:key.help" in out
    fa = read_catalog("tui", "fa", locale_copy)
    assert fa.find("sync.banner").msgstr == "ارسال {count} خرید"
    assert fa.find("sync.banner").comments == ["#. English: Sending {count} sales"]
    assert read_catalog("tui", "en", locale_copy).find("key.help").msgstr == "Help"

    assert main(["port", str(source), "--root", str(locale_copy), "--update"]) == 0
    assert read_catalog("tui", "en", locale_copy).find("key.help").msgstr == "Help me"
    assert "#. English: Help me" in read_catalog("tui", "fa", locale_copy).find("key.help").comments


def test_a_text_with_other_placeholders_is_refused_and_nothing_is_written(
    locale_copy: Path, capsys
):
    before = {lang: catalog_path("tui", lang, locale_copy).read_bytes() for lang in ("en", "fa")}
    argv = ["add", "sync.banner", "--en", "Sending {count}", "--fa", "ارسال {n}"]
    assert main([*argv, "--root", str(locale_copy)]) == 1
    assert "placeholders ['n'] differ from the English ['count']" in capsys.readouterr().err
    after = {lang: catalog_path("tui", lang, locale_copy).read_bytes() for lang in ("en", "fa")}
    assert after == before

    argv = ["add", "sync.banner", "--en", "Sending {count}", "--fa", "ارسال {count}"]
    assert main([*argv, "--root", str(locale_copy)]) == 0
    assert catalog("tui", "fa", locale_copy)["sync.banner"] == "ارسال {count}"


def test_the_catalogs_are_package_data():
    """``pip install .`` (not editable) copies what package-data names: every catalog."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["pos_client.locale"]
    shipped = {p for pattern in patterns for p in LOCALE_DIR.glob(pattern)}
    assert set(LOCALE_DIR.rglob("*.po")) == shipped
    assert len(shipped) >= 2
