"""The drivers never load the application (tui, services, adapters, sandbox)."""

from __future__ import annotations

import json
import subprocess
import sys

APPLICATION = ("pos_client.tui", "pos_client.services", "pos_client.adapters", "pos_client.sandbox")
MODULES = (
    "drivers",
    "drivers.scanner",
    "drivers.scanner.keyboard",
    "drivers.printer",
    "drivers.scale",
)


def loaded_after_importing(*names: str) -> list[str]:
    code = (
        "import importlib, json, sys\n"
        f"for name in {list(names)!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    return list(json.loads(result.stdout))


def test_drivers_load_no_application_module() -> None:
    loaded = loaded_after_importing(*MODULES)
    assert [n for n in loaded if n.startswith(APPLICATION) or n == "textual"] == []


def test_opening_a_scanner_does_not_load_the_imaging_libraries() -> None:
    loaded = loaded_after_importing("drivers", "drivers.scanner")
    assert [n for n in loaded if n.split(".")[0] in ("PIL", "escpos", "qrcode")] == []
