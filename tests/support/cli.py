"""Running the command line as a real process, as a shop's scripts do (not a test module)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from pos_client.sandbox.server import RunningSandbox


def cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pos_client.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        check=False,
    )


def basket(tmp_path: Path, *lines: dict[str, Any], name: str = "basket.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps({"lines": list(lines)}), encoding="utf-8")
    return str(path)


def config(sandbox: RunningSandbox, terminal_id: str = "T-0001") -> str:
    return str(sandbox.config_path(terminal_id))


def run_json(result: subprocess.CompletedProcess[str]) -> Any:
    assert "Traceback" not in result.stderr, result.stderr
    return json.loads(result.stdout)
