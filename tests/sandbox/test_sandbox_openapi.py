"""The OpenAPI document of the contract: served, complete, and kept by the running sandbox."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import yaml

from pos_client.sandbox.app import OPENAPI_FILE, ROUTES
from pos_client.sandbox.fleet_app import FLEET_ROUTES
from pos_client.sandbox.server import RunningSandbox, start_sandbox

REPO = Path(__file__).resolve().parents[2]
ST_CONFIG = Path(__file__).with_name("schemathesis.toml")
PHASES = "examples,coverage,fuzzing,stateful"


def test_the_document_is_served_and_covers_every_contract_path(sandbox: RunningSandbox) -> None:
    response = httpx.get(sandbox.url + "openapi.yaml")
    assert response.status_code == 200
    assert response.content == OPENAPI_FILE.read_bytes()
    document = yaml.safe_load(response.text)
    assert document["openapi"].startswith("3.1")
    served = {route.path for route in [*ROUTES, *FLEET_ROUTES] if route.path.startswith("/v1/")}
    assert set(document["paths"]) == served


def test_schemathesis_with_every_check_and_phase_finds_nothing(tmp_path: Path) -> None:
    """Every check, in the examples, coverage, fuzzing and stateful phases.

    ``tests/sandbox/schemathesis.toml`` and ``schemathesis_hooks.py`` say what
    no schema can (which households exist, check digits, ids that equal each
    other); the stateful phase follows the document's links: create, then
    read, void and replay.
    """
    with start_sandbox(tmp_path / "st", catalog_size=60) as sb:
        token = sb.terminal()["token"]
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
            "SANDBOX_TERMINAL_ID": "T-0001",
            "SANDBOX_ADMIN_TOKEN": sb.admin_token("M-0001"),
            "SANDBOX_NATIONAL_ID": sb.household("kalabarg")["national_id"],
        }
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "schemathesis.cli",
                "--config-file",
                str(ST_CONFIG),
                "run",
                str(OPENAPI_FILE),
                "--url",
                sb.url.rstrip("/"),
                "--header",
                f"Authorization: Bearer {token}",
                "--checks",
                "all",
                "--phases",
                PHASES,
                "--max-examples",
                "25",
                "--workers",
                "1",
                "--seed",
                "20261123",
                "--generation-database",
                "none",
                "--no-color",
                "--report-dir",
                str(tmp_path / "report"),
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
            cwd=REPO,
            env=env,
        )
    output = result.stdout
    assert result.returncode == 0, output[-8000:] + result.stderr[-2000:]
    for phase in ("Examples", "Coverage", "Fuzzing", "Stateful"):
        assert re.search(rf"✅\s+{phase}", output), (phase, output[-4000:])
    links = re.search(r"API Links:\s+(\d+) covered / (\d+) selected", output)
    assert links is not None, output[-4000:]
    assert links.group(1) == links.group(2) != "0", links.group(0)  # create, read, void, replay
