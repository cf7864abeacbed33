"""``redeem --json`` on every exit, and ``void ID``: real processes against the sandbox ledger."""

from __future__ import annotations

import json
from pathlib import Path

from pos_client.sandbox.server import RunningSandbox
from tests.support.cli import basket, cli, config, run_json
from tests.support.lane import MILK_1L, PASTA, ledger_books, national_id


def test_redeem_json_prints_one_object_for_bad_input_too(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    token = sandbox.mint_token(national_id(sandbox, "kalabarg"))
    missing = str(tmp_path / "no-such-basket.json")
    result = cli(
        "redeem", "--config", config(sandbox), "--token", token, "--basket", missing, "--json"
    )
    assert result.returncode == 2
    answer = run_json(result)
    assert answer["goes_ahead"] is False and answer["reason"] == "bad_input"
    assert "basket" in answer["detail"] and token not in result.stdout


def test_a_token_is_redeemed_offline_after_the_household_came_with_its_national_id(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    nid = national_id(sandbox, "kalabarg")
    challenge = cli("otp", "request", "--config", config(sandbox), "--national-id", nid)
    assert challenge.returncode == 0, challenge.stderr
    challenge_id = challenge.stdout.strip()
    first = cli(
        "redeem",
        "--config",
        config(sandbox),
        "--national-id",
        nid,
        "--otp-challenge",
        challenge_id,
        "--otp",
        sandbox.otp_code(challenge_id),
        "--basket",
        basket(tmp_path, {"barcode": PASTA, "unit_price_rial": 420_000}),
        "--json",
    )
    assert first.returncode == 0 and run_json(first)["status"] == "approved"
    token = sandbox.mint_token(nid)
    sandbox.add_fault("unavailable", "/v1/*", count=None)
    second = cli(
        "redeem",
        "--config",
        config(sandbox),
        "--token",
        token,
        "--basket",
        basket(tmp_path, {"barcode": MILK_1L, "unit_price_rial": 420_000}, name="milk.json"),
        "--json",
    )
    sandbox.clear_faults()
    assert second.returncode == 0, second.stderr
    answer = run_json(second)
    assert answer["status"] == "approved_offline" and answer["goes_ahead"] is True


def test_void_a_sale_by_its_id(sandbox: RunningSandbox, tmp_path: Path) -> None:
    nid = national_id(sandbox, "kalabarg")
    ids = []
    for n in range(2):
        sold = cli(
            "redeem",
            "--config",
            config(sandbox),
            "--token",
            sandbox.mint_token(nid),
            "--basket",
            basket(tmp_path, {"barcode": PASTA, "unit_price_rial": 420_000}, name=f"{n}.json"),
            "--json",
        )
        assert sold.returncode == 0, sold.stderr
        ids.append(run_json(sold)["id"])
    voided = cli("void", ids[0], "--config", config(sandbox), "--json")
    assert voided.returncode == 0, voided.stderr
    assert run_json(voided) == {"id": ids[0], "status": "voided", "reason": None, "detail": ""}
    again = cli("void", ids[0], "--config", config(sandbox), "--json")
    assert again.returncode == 2 and run_json(again)["reason"] == "already_voided"
    assert "already voided" in again.stderr
    unknown = cli("void", "0192f0c0-0000-7000-8000-000000000000", "--config", config(sandbox))
    assert unknown.returncode == 2 and "no sale" in unknown.stderr
    assert "Traceback" not in unknown.stderr
    last = cli("void", "last", "--config", config(sandbox), "--json")
    assert last.returncode == 0 and run_json(last)["id"] == ids[1]
    books = ledger_books(sandbox)["redemption_ids"]
    assert ids[0] not in books and ids[1] not in books
    assert json.loads(voided.stdout)["status"] == "voided"
