"""``redeem`` with a KB2 token while the ledger is down: says it came from the household's card."""

from __future__ import annotations

from pathlib import Path

from pos_client.sandbox.server import RunningSandbox
from tests.support.cli import basket, cli, config, run_json
from tests.support.lane import MILK_1L, ledger_books, national_id


def test_offline_redeem_from_the_households_card(sandbox: RunningSandbox, tmp_path: Path) -> None:
    cfg = config(sandbox, "T-0002")
    milk = basket(tmp_path, {"barcode": MILK_1L, "unit_price_rial": 420_000})
    # The lane has met the ledger (rules, clock), but never this household.
    other = sandbox.mint_token(national_id(sandbox, "yasna"))
    warm = cli("redeem", "--config", cfg, "--token", other, "--basket", milk)
    assert warm.returncode == 0, warm.stderr
    nid = national_id(sandbox, "kalabarg")
    kb1, kb2 = sandbox.mint_token(nid), sandbox.mint_token(nid, version=2)
    sandbox.add_fault("rate_limit", "/v1/*", count=None, retry_after=60)
    refused = cli("redeem", "--config", cfg, "--token", kb1, "--basket", milk, "--json")
    assert refused.returncode == 1
    assert run_json(refused)["reason"] == "ledger_unavailable"
    result = cli("redeem", "--config", cfg, "--token", kb2, "--basket", milk, "--json")
    assert result.returncode == 0, result.stderr
    out = run_json(result)
    assert out["status"] == "approved_offline" and out["offline"] and out["goes_ahead"]
    assert out["offline_source"] == "household_card"
    assert out["offline_note"] == "offline, from the household's card"
    human = cli(
        "redeem", "--config", cfg, "--token", sandbox.mint_token(nid, version=2), "--basket", milk
    )
    assert human.returncode == 0, human.stderr
    assert "approved_offline, offline, from the household's card" in human.stdout
    sandbox.clear_faults()
    synced = cli("queue", "sync", "--config", cfg, "--until-empty", "--timeout", "30", "--json")
    assert synced.returncode == 0, synced.stderr
    assert run_json(synced)["approved"] == 2
    assert out["id"] in ledger_books(sandbox, "T-0002")["redemption_ids"]
