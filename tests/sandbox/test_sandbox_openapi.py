"""The OpenAPI document of the contract: served, complete, and kept by the running sandbox."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import yaml

from pos_client.sandbox.app import OPENAPI_FILE, ROUTES
from pos_client.sandbox.server import RunningSandbox, start_sandbox

CHECKS = ",".join(
    [
        "not_a_server_error",
        "response_schema_conformance",
        "status_code_conformance",
        "content_type_conformance",
    ]
)


def test_the_document_is_served_and_covers_every_contract_path(sandbox: RunningSandbox) -> None:
    response = httpx.get(sandbox.url + "openapi.yaml")
    assert response.status_code == 200
    assert response.content == OPENAPI_FILE.read_bytes()
    document = yaml.safe_load(response.text)
    assert document["openapi"].startswith("3.1")
    served = {route.path for route in ROUTES if route.path.startswith("/v1/")}
    assert set(document["paths"]) == served


def test_schemathesis_finds_no_server_error_and_no_schema_mismatch(tmp_path: Path) -> None:
    with start_sandbox(tmp_path / "st", catalog_size=60) as sb:
        token = sb.terminal()["token"]
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "schemathesis.cli",
                "run",
                str(OPENAPI_FILE),
                "--url",
                sb.url.rstrip("/"),
                "--header",
                f"Authorization: Bearer {token}",
                "--checks",
                CHECKS,
                "--max-examples",
                "25",
                "--seed",
                "20261123",
                "--no-color",
                "--report-dir",
                str(tmp_path / "report"),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
    assert "passed" in result.stdout
