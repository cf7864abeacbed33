"""The headless command line, end to end: real processes against the sandbox ledger."""

from __future__ import annotations

import stat
from pathlib import Path

from pos_client.sandbox.server import RunningSandbox
from tests.support.cli import basket, cli, config, run_json
from tests.support.lane import MILK_1L, NOT_IN_CATALOG, PASTA, RICE_5KG, ledger_books, national_id


def test_redeem_with_a_token_prints_json_and_exits_0(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    nid = national_id(sandbox, "kalabarg")
    token = sandbox.mint_token(nid)
    path = basket(
        tmp_path,
        {"barcode": RICE_5KG, "quantity_milli": 1000, "unit_price_rial": 4_900_000},
        {"barcode": MILK_1L, "quantity_milli": 2000, "unit_price_rial": 420_000},
        {"barcode": NOT_IN_CATALOG, "unit_price_rial": 300_000},
    )
    result = cli(
        "redeem", "--config", config(sandbox), "--token", token, "--basket", path, "--json"
    )
    assert result.returncode == 0, result.stderr
    out = run_json(result)
    assert out["status"] == "approved" and out["goes_ahead"]
    assert out["covered_rial"] == 4_900_000 + 840_000 and out["payable_rial"] == 300_000
    assert {a["purse_id"] for a in out["allocations"]} and out["reason"] is None
    assert nid not in result.stdout and token not in result.stdout and token not in result.stderr
    assert out["id"] in ledger_books(sandbox)["redemption_ids"]

    # The journal knows it, with its final status, and never shows the full ID.
    journal = cli("journal", "export", "--config", config(sandbox), "--json")
    entries = run_json(journal)
    assert [(e["id"], e["status"]) for e in entries] == [(out["id"], "approved")]
    assert nid not in journal.stdout and entries[0]["household"] == "390*****15"


def test_redeem_refusals_exit_1_and_bad_input_exits_2(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    good = basket(tmp_path, {"barcode": PASTA, "unit_price_rial": 420_000})
    blocked = sandbox.mint_token(national_id(sandbox, "blocked"))
    result = cli(
        "redeem", "--config", config(sandbox), "--token", blocked, "--basket", good, "--json"
    )
    assert result.returncode == 1
    out = run_json(result)
    assert out["status"] == "declined" and out["reason"] == "beneficiary_blocked"

    token = sandbox.mint_token(national_id(sandbox, "kalabarg"))
    for bad_basket in (
        basket(tmp_path, {"barcode": PASTA, "quantity_milli": 1.5}, name="b1.json"),
        basket(tmp_path, {"barcode": PASTA, "unit_price_rial": 1, "colour": "red"}, name="b2.json"),
        basket(tmp_path, {"barcode": "12345"}, name="b3.json"),
        str(tmp_path / "missing.json"),
    ):
        result = cli(
            "redeem", "--config", config(sandbox), "--token", token, "--basket", bad_basket
        )
        assert result.returncode == 2, (bad_basket, result.stderr)
        assert "Traceback" not in result.stderr and result.stderr.strip()
    no_otp = cli(
        "redeem",
        "--config",
        config(sandbox),
        "--national-id",
        national_id(sandbox, "kalabarg"),
        "--basket",
        good,
    )
    assert no_otp.returncode == 2 and "--otp" in no_otp.stderr
    bad_id = cli(
        "redeem",
        "--config",
        config(sandbox),
        "--national-id",
        "1234567890",
        "--otp-challenge",
        "c",
        "--otp",
        "1",
        "--basket",
        good,
    )
    assert bad_id.returncode == 2 and "Traceback" not in bad_id.stderr
    broken = tmp_path / "broken.toml"
    broken.write_text(
        sandbox.config_path("T-0001").read_text().replace('city = "rasht"', "city = 7")
    )
    result = cli("redeem", "--config", str(broken), "--token", token, "--basket", good)
    assert result.returncode == 2 and "terminal.city" in result.stderr


def test_otp_then_redeem_with_a_typed_national_id(sandbox: RunningSandbox, tmp_path: Path) -> None:
    nid = national_id(sandbox, "kalabarg")
    challenge = cli("otp", "request", "--config", config(sandbox), "--national-id", nid)
    assert challenge.returncode == 0, challenge.stderr
    challenge_id = challenge.stdout.strip()
    code = sandbox.otp_code(challenge_id)
    # The price comes from the shop's price list this time.
    prices = tmp_path / "prices.csv"
    prices.write_text(f"gtin,unit_price_rial\n{PASTA},420000\n", encoding="utf-8")
    imported = cli("prices", "import", "--config", config(sandbox), str(prices))
    assert imported.returncode == 0 and "1" in imported.stdout
    result = cli(
        "redeem",
        "--national-id",
        nid,
        "--otp-challenge",
        challenge_id,
        "--otp",
        code,
        "--basket",
        basket(tmp_path, {"barcode": PASTA, "quantity_milli": 2000}),
        "--json",
        env={"POS_CLIENT_CONFIG": config(sandbox)},
    )
    assert result.returncode == 0, result.stderr
    assert run_json(result)["covered_rial"] == 840_000


def test_redeem_with_a_purchase_code(sandbox: RunningSandbox, tmp_path: Path) -> None:
    code = sandbox.mint_purchase_code(national_id(sandbox, "kalabarg"))
    result = cli(
        "redeem",
        "--config",
        config(sandbox),
        "--purchase-code",
        code,
        "--json",
        "--basket",
        basket(tmp_path, {"barcode": MILK_1L, "unit_price_rial": 420_000}),
    )
    assert result.returncode == 0, result.stderr
    assert run_json(result)["status"] == "approved"


def test_offline_redeem_then_queue_sync(sandbox: RunningSandbox, tmp_path: Path) -> None:
    cfg = config(sandbox, "T-0002")
    nid = national_id(sandbox, "kalabarg")
    milk = basket(tmp_path, {"barcode": MILK_1L, "unit_price_rial": 420_000})
    warm = cli("redeem", "--config", cfg, "--token", sandbox.mint_token(nid), "--basket", milk)
    assert warm.returncode == 0, warm.stderr
    token = sandbox.mint_token(nid)
    sandbox.add_fault("unavailable", "/v1/*", count=None, retry_after=60)
    result = cli("redeem", "--config", cfg, "--token", token, "--basket", milk, "--json")
    assert result.returncode == 0, result.stderr
    out = run_json(result)
    assert out["status"] == "approved_offline" and out["offline"]
    stats = run_json(cli("queue", "stats", "--config", cfg, "--json"))
    assert stats["count"] == 1 and stats["outstanding_offline_rial"] == 420_000
    down = cli("queue", "sync", "--config", cfg, "--json")
    assert down.returncode == 1 and run_json(down)["remaining"] == 1
    sandbox.clear_faults()
    synced = cli("queue", "sync", "--config", cfg, "--until-empty", "--timeout", "30", "--json")
    assert synced.returncode == 0, synced.stderr
    assert run_json(synced)["approved"] == 1
    assert run_json(cli("queue", "list", "--config", cfg, "--json")) == []
    assert run_json(cli("problems", "list", "--config", cfg, "--json")) == []
    assert out["id"] in ledger_books(sandbox, "T-0002")["redemption_ids"]


def test_a_typed_id_when_the_ledger_is_down_is_refused_offline(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    assert cli("rules", "sync", "--config", config(sandbox)).returncode == 0
    sandbox.add_fault("unavailable", "/v1/*", count=None, retry_after=60)
    result = cli(
        "redeem",
        "--config",
        config(sandbox),
        "--national-id",
        national_id(sandbox, "kalabarg"),
        "--otp-challenge",
        "ch",
        "--otp",
        "123456",
        "--json",
        "--basket",
        basket(tmp_path, {"barcode": PASTA, "unit_price_rial": 420_000}),
    )
    sandbox.clear_faults()
    assert result.returncode == 1
    out = run_json(result)
    assert out["status"] == "refused_offline" and out["reason"] == "ledger_unavailable"


def test_rules_sync_and_config_init(sandbox: RunningSandbox, tmp_path: Path) -> None:
    result = cli("rules", "sync", "--config", config(sandbox, "T-0003"), "--json")
    assert result.returncode == 0, result.stderr
    out = run_json(result)
    assert out["rules"]["changed"] and out["catalog"]["total"] == sandbox.info["catalog"]["size"]
    target = tmp_path / "new" / "lane.toml"
    made = cli("config", "init", "--path", str(target))
    assert made.returncode == 0 and stat.S_IMODE(target.stat().st_mode) == 0o600
    again = cli("config", "init", "--path", str(target))
    assert again.returncode == 2 and "exists" in again.stderr
    checked = cli("config", "check", "--config", str(target))
    assert checked.returncode == 0 and "T-0001" in checked.stdout
