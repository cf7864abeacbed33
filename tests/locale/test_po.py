"""The .po reader and writer, checked against Babel's reader (a real gettext tool)."""

from __future__ import annotations

import io

import pytest
from babel.messages.pofile import read_po as babel_read_po

from pos_client.locale import BASE_LANGUAGE, catalog_path, domains, languages
from pos_client.locale.po import CatalogError, read_po, write_po

SAMPLE = r"""# A translator's comment
msgid ""
msgstr ""
"Language: xx\n"
"Content-Type: text/plain; charset=UTF-8\n"

#. An extracted comment
#: pos_client/tui/app.py:12
msgid "plain"
msgstr "Plain"

msgid "escapes"
msgstr "a \"quoted\" word, a back\\slash\tand a tab"

msgid "lines"
msgstr ""
"first line\n"
"second line"

msgid ""
"a long id "
"in two parts"
msgstr "joined"

msgctxt "menu"
msgid "plain"
msgstr "Plain (menu)"

#, fuzzy
msgid "unsure"
msgstr "Maybe"

msgid "untranslated"
msgstr ""

msgid "persian"
msgstr "سبد خرید می‌شود"
"""


def _babel(text: str) -> dict[object, str]:
    parsed = babel_read_po(io.StringIO(text))
    return {
        (m.id if m.context is None else f"{m.context}\x04{m.id}"): m.string
        for m in parsed
        if m.id and m.string and not m.fuzzy
    }


def test_reads_what_babel_reads():
    po = read_po(SAMPLE)
    assert po.translations() == _babel(SAMPLE)
    assert po.translations()["escapes"] == 'a "quoted" word, a back\\slash\tand a tab'
    assert po.translations()["lines"] == "first line\nsecond line"
    assert po.translations()["a long id in two parts"] == "joined"
    assert po.translations()["menu\x04plain"] == "Plain (menu)"
    assert "unsure" not in po.translations()
    assert "untranslated" not in po.translations()
    assert po.language == "xx"
    assert po.find("plain").comments == ["#. An extracted comment", "#: pos_client/tui/app.py:12"]


def test_written_back_as_it_was():
    po = read_po(SAMPLE)
    again = read_po(write_po(po))
    assert again.translations() == po.translations()
    assert [e.comments for e in again.entries] == [e.comments for e in po.entries]


SHIPPED = [(domain, lang) for domain in domains() for lang in languages(domain)]


def test_the_screen_and_the_doctor_ship_english_and_persian():
    assert {("tui", "en"), ("tui", "fa"), ("doctor", "en"), ("doctor", "fa")} <= set(SHIPPED)


@pytest.mark.parametrize(("domain", "lang"), SHIPPED)
def test_the_shipped_catalogs_read_as_babel_reads_them_and_write_back_unchanged(domain, lang):
    text = catalog_path(domain, lang).read_text(encoding="utf-8")
    po = read_po(text)
    assert po.translations() == _babel(text)
    assert po.language == lang
    assert write_po(po) == text


@pytest.mark.parametrize("domain", domains())
def test_the_base_language_is_english(domain):
    assert languages(domain)[0] == BASE_LANGUAGE == "en"


@pytest.mark.parametrize(
    ("text", "fault"),
    [
        ('msgid "a"\nmsgid_plural "as"\nmsgstr[0] "x"\n', ":2: plural entries are not used"),
        ('msgid "a"\nmsgstr "\\q"\n', ":2: unknown escape"),
        ('msgid "a"\n\nmsgid "b"\nmsgstr "B"\n', ":1: an entry needs both msgid and msgstr"),
        ('msgid "a"\nmsgstr "x" y"\n', ":2: unescaped double quote"),
        ('msgid "a"\nmsgstr x\n', ":2: a string in double quotes was expected"),
        ('"stray"\n', ":1: a continued string outside an entry"),
        ('msgid "a"\nmsgstr "A"\n\nmsgid ""\nmsgstr ""\n', ":4: the header entry must come first"),
    ],
)
def test_a_broken_catalog_is_named_with_its_line(text, fault):
    with pytest.raises(CatalogError, match=f"^broken.po{fault}"):
        read_po(text, source="broken.po")
