"""``python -m pos_client.locale``: add texts, port them from Python, start a language, check.

* ``add KEY --en TEXT --fa TEXT`` adds one message to every catalog given
  (``--text LANG TEXT`` for another language); ``--update`` replaces a text.
* ``port FILE`` adds the texts of the ``_FA``/``_EN`` dicts in a Python file
  that the catalogs lack: how a branch that still added keys to the old dicts
  of ``pos_client/tui/i18n.py`` is ported after merging::

      git show BRANCH:pos_client/tui/i18n.py | python -m pos_client.locale port -

  Keys whose text differs from the catalog are listed; ``--update`` takes
  the file's text for them.
* ``new LANG`` writes the catalog of a new language: every message, its
  English text in a comment, ready for Poedit or Weblate.
* ``check`` reads every catalog and compares each text's placeholders with
  the English one's; it exits 1 on a fault.

``--domain`` names the catalog: ``tui`` (the default: the checkout screen) or
``doctor`` (the lane doctor); ``check`` without it checks every domain. The
doctor's texts used to be the ``_FA``/``_EN`` dicts of
``pos_client/services/doctor_texts.py``; a branch that still added keys there
is ported the same way::

    git show BRANCH:pos_client/services/doctor_texts.py \\
        | python -m pos_client.locale port --domain doctor -
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import (
    BASE_LANGUAGE,
    also_given,
    catalog_path,
    domains,
    languages,
    placeholder_fault,
    placeholders,
    read_catalog,
)
from .edit import Change, add_messages, dicts_in_source, new_language
from .po import CatalogError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pos_client.locale", description="Edit and check the gettext catalogs."
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--domain", default=None, help="the catalog: tui (default) or doctor; check: every one"
    )
    common.add_argument("--root", type=Path, default=None, help=argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", required=True)

    add = commands.add_parser("add", parents=[common], help="add one message")
    add.add_argument("key")
    add.add_argument("--en", help="the English text")
    add.add_argument("--fa", help="the Persian text")
    add.add_argument("--text", nargs=2, action="append", default=[], metavar=("LANG", "TEXT"))
    add.add_argument("--update", action="store_true", help="replace a text that differs")

    port = commands.add_parser("port", parents=[common], help="add texts from _FA/_EN dicts")
    port.add_argument("file", help="a Python file, or - for standard input")
    port.add_argument("--update", action="store_true", help="take the file's differing texts")

    new = commands.add_parser("new", parents=[common], help="start the catalog of a language")
    new.add_argument("lang", help="a language code: ckb, az, ar …")

    commands.add_parser("check", parents=[common], help="check every catalog")
    return parser


def _report(change: Change) -> None:
    for item in change.added:
        print(f"added {item}")
    for item in change.updated:
        print(f"updated {item}")
    for item in change.differing:
        print(f"differs {item} (kept; --update takes the new text)")
    if not (change.added or change.updated or change.differing):
        print("nothing to add")


def _check(domain: str, root: Path | None) -> int:
    faults = 0
    base_po = read_catalog(domain, BASE_LANGUAGE, root)
    base = base_po.translations()
    also = {e.key: also_given(e) for e in base_po.entries}
    for lang in languages(domain, root):
        own = read_catalog(domain, lang, root).translations()
        for key, text in own.items():
            if key not in base:
                print(f"{lang}: {key} is not in the {BASE_LANGUAGE} catalog")
                faults += 1
            elif placeholder_fault(text, base[key], also[key]) is not None:
                print(f"{lang}: {key} has placeholders {sorted(placeholders(text))}")
                faults += 1
        missing = len(base.keys() - own.keys())
        path = catalog_path(domain, lang, root)
        print(f"{lang}: {len(own)} of {len(base)} translated ({missing} missing) in {path}")
    return 1 if faults else 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    domain, root = args.domain or "tui", args.root
    try:
        if args.command == "add":
            texts = {lang: text for lang, text in args.text}
            texts |= {lang: text for lang in ("en", "fa") if (text := getattr(args, lang))}
            if not texts:
                print("give at least one text (--en, --fa, --text LANG TEXT)", file=sys.stderr)
                return 2
            ordered = dict(sorted(texts.items(), key=lambda item: item[0] != BASE_LANGUAGE))
            change = add_messages(
                domain,
                {lang: {args.key: text} for lang, text in ordered.items()},
                update=args.update,
                root=root,
            )
            _report(change)
        elif args.command == "port":
            source = sys.stdin.read() if args.file == "-" else Path(args.file).read_text("utf-8")
            known = languages(domain, root)
            found = {lang: t for lang, t in dicts_in_source(source).items() if lang in known}
            if not found:
                print("no _FA/_EN dicts of texts in the file", file=sys.stderr)
                return 2
            ordered = dict(sorted(found.items(), key=lambda item: item[0] != BASE_LANGUAGE))
            _report(add_messages(domain, ordered, update=args.update, root=root))
        elif args.command == "new":
            print(f"wrote {new_language(domain, args.lang, root)}")
        else:
            checked = (args.domain,) if args.domain else domains(root)
            return max((_check(name, root) for name in checked), default=0)
    except (CatalogError, OSError, SyntaxError) as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
