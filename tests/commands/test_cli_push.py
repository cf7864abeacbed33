"""``pos-client queue push --now``: the network is back, a person says so; the lane probes first."""

from __future__ import annotations

from pathlib import Path

from pos_client.sandbox.server import RunningSandbox
from tests.support.cli import basket, cli, config, run_json
from tests.support.lane import MILK_1L, ledger_books, national_id


def test_push_now_probes_then_drains_and_a_dead_ledger_leaves_everything(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    cfg = config(sandbox, "T-0002")
    nid = national_id(sandbox, "kalabarg")
    milk = basket(tmp_path, {"barcode": MILK_1L, "unit_price_rial": 420_000})
    warm = cli("redeem", "--config", cfg, "--token", sandbox.mint_token(nid), "--basket", milk)
    assert warm.returncode == 0, warm.stderr
    sandbox.add_fault("unavailable", "/v1/*", count=None, retry_after=60)
    sold = cli("redeem", "--config", cfg, "--token", sandbox.mint_token(nid), "--basket", milk)
    assert sold.returncode == 0, sold.stderr
    # Still down: the probe is refused, nothing is sent, nothing is lost.
    down = cli("queue", "push", "--now", "--timeout", "1", "--config", cfg, "--json")
    assert down.returncode == 1 and run_json(down)["remaining"] == 1
    assert "health" in (run_json(down)["error"] or "")
    assert "Traceback" not in down.stderr
    sandbox.clear_faults()
    pushed = cli("queue", "push", "--now", "--config", cfg, "--json")
    assert pushed.returncode == 0, pushed.stderr
    assert run_json(pushed)["approved"] == 1
    assert run_json(cli("queue", "list", "--config", cfg, "--json")) == []
    counted = ledger_books(sandbox, "T-0002")["redemption_ids"]
    assert len(counted) == len(set(counted)) == 2


def test_push_needs_now(sandbox: RunningSandbox) -> None:
    result = cli("queue", "push", "--config", config(sandbox, "T-0002"))
    assert result.returncode == 2 and "--now" in result.stderr
