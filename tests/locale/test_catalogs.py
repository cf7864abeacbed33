"""The catalogs: complete, consistent with the code, extensible by a file, editable by a command."""

from __future__ import annotations

import ast
import re
import shutil
import tomllib
from pathlib import Path

import pytest

import pos_client
from pos_client.locale import (
    BASE_LANGUAGE,
    LOCALE_DIR,
    also_given,
    catalog,
    catalog_path,
    domains,
    languages,
    placeholder_fault,
    placeholders,
    read_catalog,
)
from pos_client.locale.__main__ import main
from pos_client.services.doctor import Verdict

ROOT = Path(pos_client.__file__).resolve().parent.parent
TUI = ROOT / "pos_client" / "tui"
#: The doctor's code: its checks, and the command that prints them.
DOCTOR = [
    *sorted((ROOT / "pos_client" / "services" / "doctor").glob("*.py")),
    ROOT / "pos_client" / "commands" / "doctor.py",
]
#: Every catalog shipped: (domain, language).
SHIPPED = [(domain, lang) for domain in domains() for lang in languages(domain)]


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


@pytest.mark.parametrize("domain", ["tui", "doctor"])
def test_the_screen_and_the_doctor_have_persian_and_english_and_they_are_complete(domain):
    assert set(languages(domain)) >= {"fa", "en"}
    english = read_catalog(domain, "en").translations()
    for lang in ("fa", "en"):
        po = read_catalog(domain, lang)
        assert {e.msgid for e in po.entries} == set(english), lang
        assert not [e.msgid for e in po.entries if e.fuzzy or not e.msgstr], lang


@pytest.mark.parametrize(("domain", "lang"), SHIPPED)
def test_every_text_has_the_english_placeholders(domain, lang):
    base = read_catalog(domain, BASE_LANGUAGE)
    english = base.translations()
    also = {e.msgid: also_given(e) for e in base.entries}
    for key, text in read_catalog(domain, lang).translations().items():
        assert key in english, f"{lang}: {key} is not in the English catalog"
        if not also[key]:
            assert placeholders(text) == placeholders(english[key]), f"{lang}: {key}"
        assert placeholder_fault(text, english[key], also[key]) is None, f"{lang}: {key}"


def test_only_the_device_a_driver_names_is_given_beyond_the_english_text():
    """The doctor's English quotes a driver (which names the device); Persian names it itself."""
    base = read_catalog("doctor", BASE_LANGUAGE)
    assert {e.msgid: also_given(e) for e in base.entries if also_given(e)} == {
        "printer.unreachable": {"url"},
        "scale.missing": {"url"},
    }
    assert read_catalog("tui", BASE_LANGUAGE).translations()  # the screen's need no such note
    assert not [e.msgid for e in read_catalog("tui", BASE_LANGUAGE).entries if also_given(e)]


@pytest.mark.parametrize("lang", languages("tui"))
def test_every_key_the_screen_uses_is_in_every_catalog(lang):
    keys, prefixes = _keys_used_by_the_screen()
    assert len(keys) > 100 and "age.now" in keys and "unit." in prefixes
    texts = catalog("tui", lang)
    groups = {"group."}  # group names come from pos_client.services.group_names
    assert sorted(keys - set(texts)) == []
    assert sorted(p for p in prefixes - groups if not any(k.startswith(p) for k in texts)) == []


@pytest.mark.parametrize("domain", ["tui", "doctor"])
def test_the_persian_catalog_shows_translators_the_english_text(domain):
    english = read_catalog(domain, "en")
    for entry in read_catalog(domain, "fa").entries:
        notes = [c[3:] for c in entry.comments if c.startswith("#.")]
        assert "\n".join(notes) == f"English: {english.translations()[entry.msgid]}", entry.msgid
        source = english.find(entry.msgid)
        assert source is not None and also_given(entry) == also_given(source), entry.msgid


def _keys_used_by_the_doctor() -> tuple[set[str], set[str], set[str]]:
    """Key-shaped strings in the doctor's code, f-string key prefixes, and the checks' names.

    A key-shaped string is a word, a dot and more (``store.stale.advice``); it
    is a key of the doctor's when its first word is a part of the catalog
    (``store``), as opposed to a config key (``devices.printer``).
    """
    strings: set[str] = set()
    prefixes: set[str] = set()
    names: set[str] = set()
    for path in DOCTOR:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if re.fullmatch(r"[a-z_]+(\.[a-z_]+)+", node.value):
                    strings.add(node.value)
            if isinstance(node, ast.JoinedStr) and isinstance(node.values[0], ast.Constant):
                head = str(node.values[0].value)
                if re.fullmatch(r"[a-z]+:", head):  # a device's check: f"scale:{url}"
                    names.add(head[:-1])
            if not (isinstance(node, ast.Call) and node.args):
                continue
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            args = node.args
            if name == "say" and len(args) > 1 and isinstance(args[1], ast.JoinedStr):
                head = args[1].values[0]
                if isinstance(head, ast.Constant) and str(head.value).endswith("."):
                    prefixes.add(str(head.value))
            if name in ("Check", "combine", "internal_check", "_internal", "device_check"):
                first = args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    names.add(first.value)
    return strings, prefixes, names


@pytest.mark.parametrize("lang", languages("doctor"))
def test_every_key_the_doctor_uses_is_in_every_catalog(lang):
    strings, prefixes, names = _keys_used_by_the_doctor()
    texts = read_catalog("doctor", lang).translations()  # its own texts, no fallback
    parts = {key.split(".", 1)[0] for key in texts}
    keys = {s for s in strings if s.split(".", 1)[0] in parts}
    assert len(keys) > 100 and "store.stuck.advice" in keys and "cause.libusb" in keys
    assert sorted(keys - set(texts)) == []
    assert prefixes == {"verdict."}
    assert sorted(f"verdict.{v.value}" for v in Verdict if f"verdict.{v.value}" not in texts) == []
    assert names >= {"config", "store", "ledger", "clock", "token", "rules", "catalog"}
    assert names >= {"scanner", "printer", "scale"}
    assert sorted(name for name in names if f"label.{name}" not in texts) == []


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


# --------------------------------------------------------------------------- the doctor's catalog

OLD_DOCTOR_STYLE = """
_SYNC_EN = "Run `pos-client rules sync --config {config}`."
_SYNC_FA = "فرمان `pos-client rules sync --config {config}` را اجرا کنید."
_EN: Final[dict[str, str]] = {
    "store.ok": "{path}: {waiting} waiting to be sent, {problems} problems; last answer from "
    "the ledger: {contact}",
    # a branch's new finding
    "store.drift": "the store's clock drifts by {minutes} minutes",
    "store.drift.advice": _SYNC_EN + " Then run the doctor again.",
}
_FA: Final[dict[str, str]] = {
    "store.ok": "{path}: {waiting} مورد در انتظار ارسال، {problems} مورد نیازمند رسیدگی؛ "
    "آخرین پاسخ سامانه: {contact}",
    "store.drift": "ساعت پایگاه داده {minutes} دقیقه جابه‌جا است",
    "store.drift.advice": _SYNC_FA + " سپس دوباره عیب‌یابی را اجرا کنید.",
}
"""


def test_texts_added_to_the_doctors_old_dicts_are_ported(locale_copy: Path, tmp_path: Path, capsys):
    source = tmp_path / "doctor_texts.py"
    source.write_text(OLD_DOCTOR_STYLE, encoding="utf-8")
    argv = ["port", str(source), "--domain", "doctor", "--root", str(locale_copy)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "added en:store.drift.advice" in out and "added fa:store.drift" in out
    assert "store.ok" not in out  # the same text, joined over two lines: nothing to do
    fa = read_catalog("doctor", "fa", locale_copy)
    advice = fa.find("store.drift.advice")
    assert advice is not None
    assert advice.msgstr == (
        "فرمان `pos-client rules sync --config {config}` را اجرا کنید."
        " سپس دوباره عیب‌یابی را اجرا کنید."
    )
    assert advice.comments == [
        "#. English: Run `pos-client rules sync --config {config}`. Then run the doctor again."
    ]
    assert read_catalog("tui", "fa", locale_copy).find("store.drift") is None
    assert main(["check", "--domain", "doctor", "--root", str(locale_copy)]) == 0


def test_a_message_is_added_to_the_doctor_and_checked(locale_copy: Path, capsys):
    root = ["--domain", "doctor", "--root", str(locale_copy)]
    argv = ["add", "store.drift", "--en", "drifts {minutes} min", "--fa", "{minutes} دقیقه"]
    assert main([*argv, *root]) == 0
    assert catalog("doctor", "fa", locale_copy)["store.drift"] == "{minutes} دقیقه"
    assert "store.drift" not in catalog("tui", "en", locale_copy)

    # The Persian may name the device where the English quotes the driver; nothing else.
    assert main(["add", "scale.missing", "--fa", "{url}: خاموش ({why})", "--update", *root]) == 0
    assert main(["add", "scale.missing", "--fa", "{path}: خاموش ({why})", "--update", *root]) == 1
    assert "also given: ['url']" in capsys.readouterr().err
    assert main(["add", "scale.motion", "--fa", "{url}: {why}", "--update", *root]) == 1
    assert main(["check", *root]) == 0

    path = catalog_path("doctor", "fa", locale_copy)
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("{url}: خاموش ({why})", "{urll}: خاموش ({why})"), "utf-8")
    capsys.readouterr()
    assert main(["check", *root]) == 1
    assert "fa: scale.missing has placeholders ['urll', 'why']" in capsys.readouterr().out
    assert main(["check", "--root", str(locale_copy)]) == 1  # every domain, the doctor's too
    assert main(["check", "--domain", "tui", "--root", str(locale_copy)]) == 0


def test_a_third_language_of_the_doctor_is_a_new_file(locale_copy: Path):
    assert main(["new", "ckb", "--domain", "doctor", "--root", str(locale_copy)]) == 0
    path = catalog_path("doctor", "ckb", locale_copy)
    text = path.read_text(encoding="utf-8")
    assert '#. English: failed\nmsgid "verdict.failed"\nmsgstr ""' in text
    assert "# also given: {url}" in text  # the note reaches the new language's translator
    text = text.replace(
        'msgid "verdict.failed"\nmsgstr ""', 'msgid "verdict.failed"\nmsgstr "شکستی هێنا"'
    ).replace(
        'msgid "printer.unreachable"\nmsgstr ""',
        'msgid "printer.unreachable"\nmsgstr "{url}: نایگات ({why})"',
    )
    path.write_text(text, encoding="utf-8")

    assert languages("doctor", locale_copy) == ("en", "ckb", "fa")
    assert "ckb" not in languages("tui", locale_copy)  # one domain's language is its own file
    texts = catalog("doctor", "ckb", locale_copy)
    assert texts["verdict.failed"] == "شکستی هێنا"
    assert texts["label.scale"] == "scale"  # not yet translated: the English text
    assert set(texts) == set(catalog("doctor", "en", locale_copy))
    assert main(["check", "--root", str(locale_copy)]) == 0
