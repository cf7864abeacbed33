"""``pos-client agent``: a real agent process on a real Unix socket, against the sandbox ledger."""

from __future__ import annotations

import json
import socket
import stat
from pathlib import Path
from typing import Any

from pos_client.sandbox.server import RunningSandbox
from tests.agent.support import agent
from tests.drivers.netprinter import LoopbackPrinter
from tests.support.cli import cli, config
from tests.support.lane import (
    MILK_1L,
    NOT_IN_CATALOG,
    RICE_5KG,
    ledger_books,
    national_id,
    with_printer,
)
from tests.support.waiting import eventually

PROBLEM = "application/problem+json"


def _rice(token: str) -> dict[str, Any]:
    return {"token": token, "lines": [{"barcode": RICE_5KG, "unit_price_rial": 4_900_000}]}


def _journal(sandbox: RunningSandbox) -> list[dict[str, Any]]:
    result = cli("journal", "export", "--config", config(sandbox), "--json")
    assert result.returncode == 0, result.stderr
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    return rows


def test_a_whole_sale_over_the_socket_answers_as_the_command_line(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    nid = national_id(sandbox, "kalabarg")
    with agent(sandbox) as running:
        mode = stat.S_IMODE(running.socket.stat().st_mode)
        assert mode == 0o660 and stat.S_ISSOCK(running.socket.stat().st_mode)
        with running.client() as client:
            health = client.get("/v1/health").json()
            assert health["status"] == "ok" and health["terminal_id"] == "T-0001"
            assert health["busy"] is False
            # The rules come in the background, before any sale asks for them.
            eventually(
                lambda: client.get("/v1/health").json()["rules_version"], "the rules are fetched"
            )
            token = sandbox.mint_token(nid)
            wallet = client.post("/v1/wallet-inquiries", json={"token": token})
            assert wallet.status_code == 200, wallet.text
            assert wallet.json()["household"] == "390*****15" and wallet.json()["purses"]
            assert nid not in wallet.text and token not in wallet.text
            body = {
                "token": token,
                "lines": [
                    {"barcode": RICE_5KG, "quantity_milli": 1000, "unit_price_rial": 4_900_000},
                    {"barcode": MILK_1L, "quantity_milli": 2000, "unit_price_rial": 420_000},
                    {"barcode": NOT_IN_CATALOG, "unit_price_rial": 300_000},
                ],
            }
            sale = client.post("/v1/redemptions", json=body)
            assert sale.status_code == 200, sale.text
            out = sale.json()
            assert out["status"] == "approved" and out["goes_ahead"]
            assert out["covered_rial"] == 4_900_000 + 840_000 and out["payable_rial"] == 300_000
            receipt = client.get(f"/v1/receipts/{out['id']}").json()
            assert receipt["id"] == out["id"] and receipt["receipt_code"] == out["receipt_code"]
            # The same token again: the ledger says it is used; an answer, not an error.
            again = client.post("/v1/redemptions", json=body).json()
            assert again["goes_ahead"] is False and again["reason"] == "token_used"
            assert client.get("/v1/interrupted").json() == []
            doctor = client.get("/v1/doctor").json()
            assert doctor["terminal"] == "T-0001" and doctor["checks"] and doctor["exit_code"] == 0
            x = client.get("/v1/reports/x").json()
            assert x["sales"]["count"] == 1
        assert running.stop() == 0
    assert ledger_books(sandbox)["redemption_ids"] == [out["id"]]
    assert [(e["id"], e["status"]) for e in _journal(sandbox)] == [(out["id"], "approved")]
    # The command line answers the same sale with the same object.
    shown = cli("receipt", "show", out["id"], "--config", config(sandbox), "--json")
    assert json.loads(shown.stdout) == receipt


def test_bad_requests_get_a_problem_each_and_change_nothing(sandbox: RunningSandbox) -> None:
    token = sandbox.mint_token(national_id(sandbox, "kalabarg"))
    with agent(sandbox) as running, running.client() as client:
        cases = [
            (client.post("/v1/redemptions", content=b"{not json"), 400, "malformed_json"),
            (client.post("/v1/redemptions", content=b"[1, 2]"), 400, "malformed_json"),
            (client.get("/v1/refunds"), 404, "unknown_operation"),
            (client.delete("/v1/redemptions"), 405, "method_not_allowed"),
            (client.post("/v1/redemptions", json={"token": token}), 400, "bad_input"),
            (
                client.post("/v1/redemptions", json={**_rice(token), "purchase_code": "12345678"}),
                400,
                "bad_input",
            ),
            (
                client.post(
                    "/v1/redemptions",
                    json={"token": token, "lines": [{"barcode": RICE_5KG, "quantity_milli": 1.5}]},
                ),
                400,
                "bad_input",
            ),
            (client.post("/v1/voids", json={"id": "no-such-sale"}), 404, None),
            (client.get("/v1/receipts/no-such-sale"), 404, None),
            (client.post("/v1/problems/7/resolve"), 404, "problem_not_found"),
        ]
        for response, status, code in cases:
            assert response.status_code == status, response.text
            assert response.headers["content-type"] == PROBLEM
            problem = response.json()
            assert problem["status"] == status and problem["detail"]
            assert code is None or problem["code"] == code, problem
            assert "Traceback" not in response.text and token not in response.text
        # Too large: refused from its Content-Length, before the body is read.
        with socket.socket(socket.AF_UNIX) as raw:
            raw.connect(str(running.socket))
            raw.sendall(
                b"POST /v1/redemptions HTTP/1.1\r\nHost: lane\r\n"
                b"Content-Type: application/json\r\nContent-Length: 50000000\r\n\r\n{"
            )
            raw.settimeout(10)
            head = b""
            while b"body_too_large" not in head and (part := raw.recv(4096)):
                head += part
        assert head.startswith(b"HTTP/1.1 413") and b"body_too_large" in head
        # ...and a body without a length, once it passes the limit.
        chunks = (b"x" * 65536 for _ in range(40))
        big = client.post("/v1/redemptions", content=chunks)
        assert big.status_code == 413 and big.json()["code"] == "body_too_large"
        # The agent is still there, and nothing was sold.
        assert client.get("/v1/health").json()["status"] == "ok"
        assert client.get("/v1/queue").json() == []
    assert _journal(sandbox) == []
    assert ledger_books(sandbox)["redemption_ids"] == []


def test_a_receipt_printed_again_through_the_agent(sandbox: RunningSandbox) -> None:
    token = sandbox.mint_token(national_id(sandbox, "kalabarg"))
    with LoopbackPrinter(stop_after=300) as far_end:
        cut_short = with_printer(sandbox, f"{far_end.url}?timeout_ms=300", "lane-cut.toml")
        with agent(sandbox, config_path=cut_short) as running, running.client() as client:
            sale = client.post("/v1/redemptions", json=_rice(token)).json()
            assert sale["status"] == "approved"
            failed = client.post(f"/v1/receipts/{sale['id']}/print")
    assert failed.status_code == 503 and failed.headers["content-type"] == PROBLEM
    assert "cut short" in failed.json()["detail"] and "print it again" in failed.json()["detail"]
    with LoopbackPrinter() as far_end:  # the printer back in order
        fixed = with_printer(sandbox, f"{far_end.url}?timeout_ms=3000", "lane-fixed.toml")
        with agent(sandbox, config_path=fixed) as running, running.client() as client:
            printed = client.post(f"/v1/receipts/{sale['id']}/print")
            assert far_end.stopped.wait(5)
            assert (
                client.get(f"/v1/receipts/{sale['id']}").json()["receipt_code"]
                == (sale["receipt_code"])
            )
    assert printed.status_code == 200, printed.text
    assert printed.json() == {
        "id": sale["id"],
        "printed": True,
        "receipt_code": sale["receipt_code"],
    }
    assert [(e["id"], e["status"]) for e in _journal(sandbox)] == [(sale["id"], "approved")]
