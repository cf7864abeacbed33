"""Packaging checks: the pure domain imports no I/O library and reads no clock or environment."""

from __future__ import annotations

import ast
import json
import pathlib
import subprocess
import sys

import pos_client.domain

DOMAIN_DIR = pathlib.Path(pos_client.domain.__file__).parent
FORBIDDEN_MODULES = ("textual", "httpx", "serial", "sqlite3", "uvicorn", "starlette", "escpos")
FORBIDDEN_CALLS = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("time", "time"),
    ("time", "monotonic"),
    ("time", "perf_counter"),
    ("time", "time_ns"),
    ("os", "getenv"),
    ("os", "environ"),
    ("os", "urandom"),
}


def _domain_modules() -> list[str]:
    names = []
    for path in sorted(DOMAIN_DIR.rglob("*.py")):
        parts = path.relative_to(DOMAIN_DIR).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names.append(".".join(("pos_client.domain", *parts)))
    return names


def test_importing_the_domain_loads_no_io_library() -> None:
    code = (
        "import importlib, json, sys\n"
        f"for name in {_domain_modules()!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    loaded = json.loads(result.stdout)
    offenders = [
        name
        for name in loaded
        if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN_MODULES)
    ]
    assert offenders == []
    app_parts = ("pos_client.tui", "pos_client.adapters", "pos_client.services", "drivers")
    assert [n for n in loaded if n.startswith(app_parts)] == []


def _attribute_chains(tree: ast.AST) -> set[tuple[str, str]]:
    chains = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            base = node.value
            if isinstance(base, ast.Name):
                chains.add((base.id, node.attr))
            elif isinstance(base, ast.Attribute):
                chains.add((base.attr, node.attr))
    return chains


def test_domain_source_reads_no_clock_and_no_environment() -> None:
    offenders = []
    for path in sorted(DOMAIN_DIR.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for chain in sorted(_attribute_chains(tree) & FORBIDDEN_CALLS):
            offenders.append(f"{path.name}: {'.'.join(chain)}")
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module in {"os", "time"}:
                offenders.append(f"{path.name}: from {node.module} import ...")
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] in (*FORBIDDEN_MODULES, "os", "time", "random"):
                        offenders.append(f"{path.name}: import {alias.name}")
    assert offenders == []


def test_the_checker_itself_catches_a_clock_read() -> None:
    tree = ast.parse("import datetime\nx = datetime.datetime.now()\n")
    assert ("datetime", "now") in _attribute_chains(tree) & FORBIDDEN_CALLS
