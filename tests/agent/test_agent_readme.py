"""The README's lane agent steps (curl on the Unix socket) and the systemd unit it ships."""

from __future__ import annotations

import configparser
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from pos_client.agent.serve import default_socket
from pos_client.cli import build_parser
from pos_client.config import load_config
from pos_client.sandbox.server import RunningSandbox
from tests.agent.support import agent
from tests.support.lane import ledger_books

ROOT = Path(__file__).parents[2]
README = ROOT / "README.md"
UNIT = ROOT / "packaging" / "pos-client-agent.service"


def _section() -> str:
    text = README.read_text(encoding="utf-8")
    return text.split("\n## The lane agent: `pos-client agent`\n", 1)[1].split("\n## ", 1)[0]


def _script(socket: Path, data_dir: Path) -> str:
    blocks = re.findall(r"```sh\n(.*?)```", _section(), flags=re.S)
    assert blocks[0].strip().startswith("pos-client agent --config")
    lines: list[str] = []
    for block in blocks[1:]:
        lines.extend(line[3:] if line.startswith("   ") else line for line in block.splitlines())
    script = "\n".join(lines).replace("/run/pos-client/agent.sock", str(socket))
    # `pos-client` is this tree's command line, whatever is installed on the computer.
    wrapper = f'pos-client() {{ {shlex.quote(sys.executable)} -m pos_client.cli "$@"; }}\n'
    return "set -euo pipefail\n" + wrapper + script.replace("/tmp/x", str(data_dir)) + "\n"


def test_the_readme_sale_with_curl_runs_against_a_real_agent(sandbox: RunningSandbox) -> None:
    with agent(sandbox) as running:
        result = subprocess.run(
            ["bash", "-c", _script(running.socket, sandbox.data_dir)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert result.returncode == 0, result.stdout + result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    health, wallet, sale, receipt, problem = answers
    assert health == {"status": "ok", "terminal_id": "T-0001", "busy": False}
    assert wallet["requires_otp"] is False and wallet["purses"]
    assert sale["status"] == "approved" and sale["goes_ahead"] is True
    assert sale["covered_rial"] == 4_900_000 and sale["payable_rial"] == 0
    assert receipt["receipt_code"] == sale["receipt_code"] and receipt["lines"]
    assert problem == {"status": 400, "code": "malformed_json"}
    assert len(ledger_books(sandbox)["redemption_ids"]) == 1


def test_every_operation_of_the_agent_is_in_the_readme_table() -> None:
    from pos_client.agent.http import OPERATIONS

    section = _section()
    for method, path, _ in OPERATIONS:
        shown = path.replace("{sale}", "{id}").replace("{seq:int}", "{n}")
        shown = shown.replace("{number:int}", "{n}")
        assert f"`{method} {shown}" in section, (method, path)


def test_the_systemd_unit_runs_the_agent_as_the_readme_says(
    monkeypatch: pytest.MonkeyPatch, sandbox: RunningSandbox
) -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read_string(UNIT.read_text(encoding="utf-8"))
    service = unit["Service"]
    assert service["Type"] in ("notify", "simple") and service["Restart"] == "on-failure"
    assert service["KillSignal"] == "SIGTERM" and service["TimeoutStopSec"]
    assert service["RuntimeDirectory"] == "pos-client"
    assert service["User"] == service["Group"] == "pos-client"
    for hardening in ("NoNewPrivileges", "ProtectSystem", "ProtectHome", "PrivateTmp"):
        assert service[hardening] in ("yes", "strict"), hardening
    command = shlex.split(service["ExecStart"])
    assert command[0].endswith("/pos-client") and command[1] == "agent"
    args = build_parser().parse_args(command[1:])
    assert args.handler.__module__ == "pos_client.commands.agent" and args.socket is None
    # Without --socket, under systemd the socket is in its RuntimeDirectory, as the README says.
    monkeypatch.setenv("RUNTIME_DIRECTORY", "/run/pos-client")
    assert default_socket(load_config(sandbox.config_path("T-0001"))) == Path(
        "/run/pos-client/agent.sock"
    )
    assert "/run/pos-client/agent.sock" in _section()
