"""The house rules a reader relies on: small rooms, one definition of each thing, one error
tree, and a screen and command line that go through the services (see ARCHITECTURE.md).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pathlib
import pkgutil
import subprocess
import sys
import tomllib
from types import ModuleType

import drivers
import pos_client

ROOTS = (pathlib.Path(pos_client.__file__).parent, pathlib.Path(drivers.__file__).parent)
REPO = ROOTS[0].parent
MAX_LINES = 700

#: Where exception classes are defined: the one tree.
ERROR_MODULES = {"pos_client.errors", "pos_client.domain.errors"}
#: Exceptions that are not errors of the lane: the sandbox ledger's own problem documents.
NOT_THE_LANES = {
    ("pos_client.sandbox.problems", "Problem"),
    # The catalogs' reader imports nothing of the application (an import contract); a catalog it
    # cannot read is a packaging fault that tests/locale catches before a lane ever runs.
    ("pos_client.locale.po", "CatalogError"),
    # The reference ledger's own start-up failure, told by its command as one sentence.
    ("pos_client.sandbox.server", "ListenError"),
}


def _sources() -> list[pathlib.Path]:
    return sorted(p for root in ROOTS for p in root.rglob("*.py"))


def _relative(path: pathlib.Path) -> str:
    return path.relative_to(REPO).as_posix()


def _modules() -> list[ModuleType]:
    found = []
    for package in (pos_client, drivers):
        found.append(package)
        prefix = package.__name__ + "."
        for info in pkgutil.walk_packages(package.__path__, prefix):
            found.append(importlib.import_module(info.name))
    return found


def test_no_module_is_too_big_to_hold_in_ones_head() -> None:
    too_big = {
        _relative(path): count
        for path in _sources()
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert too_big == {}


def test_the_language_and_money_unit_types_are_defined_once_in_the_domain() -> None:
    from pos_client.domain import money
    from pos_client.services import doctor_texts
    from pos_client.tui import i18n

    defined: list[str] = []
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                value = node.value
                literal = (
                    isinstance(value, ast.Subscript)
                    and isinstance(value.value, ast.Name)
                    and value.value.id == "Literal"
                )
                for target in targets:
                    if isinstance(target, ast.Name) and literal:
                        if target.id in {"Lang", "MoneyUnit", "Currency"}:
                            defined.append(f"{_relative(path)}:{target.id}")
    assert sorted(defined) == [
        "pos_client/domain/money.py:Lang",
        "pos_client/domain/money.py:MoneyUnit",
    ]
    assert i18n.Lang is money.Lang and doctor_texts.Lang is money.Lang
    assert i18n.MoneyUnit is money.MoneyUnit


def test_the_receipt_is_a_domain_value_the_printers_import() -> None:
    from drivers import printer
    from pos_client.domain import receipt

    assert printer.Receipt is receipt.Receipt
    homes = [
        _relative(path)
        for path in _sources()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ClassDef) and node.name == "Receipt"
    ]
    assert homes == ["pos_client/domain/receipt.py"]


def test_every_error_the_lane_raises_is_drawn_in_the_one_tree() -> None:
    outside = set()
    for module in _modules():
        for name, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == module.__name__
                and module.__name__ not in ERROR_MODULES
                and not name.startswith("_")  # a module's own control flow, never raised out
            ):
                outside.add((module.__name__, name))
    assert outside - NOT_THE_LANES == set()


def test_the_screen_and_the_commands_reach_the_store_only_through_services() -> None:
    readers = set()
    for root in (ROOTS[0] / "tui", ROOTS[0] / "commands"):
        for path in sorted(root.rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.Attribute) and node.attr == "store":
                    owner = node.value
                    # ``config.store`` is the configuration's section, not the store
                    if not (isinstance(owner, ast.Name) and owner.id == "config"):
                        if not (isinstance(owner, ast.Attribute) and owner.attr == "config"):
                            readers.add(_relative(path))
    assert readers == set()


def test_the_layers_are_held_by_import_contracts() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = {c["name"]: c for c in config["tool"]["importlinter"]["contracts"]}
    screen = contracts["The screen and the commands never import the adapters"]
    assert set(screen["source_modules"]) == {"pos_client.tui", "pos_client.commands"}
    assert screen["forbidden_modules"] == ["pos_client.adapters"]
    result = subprocess.run(
        [str(pathlib.Path(sys.executable).parent / "lint-imports")],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:]
