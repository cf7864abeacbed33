"""``fleet config set`` and ``config explain`` as real processes against the sandbox."""

from __future__ import annotations

import json

from pos_client.sandbox.server import RunningSandbox
from tests.support.cli import cli, config, run_json


def _admin_env(sandbox: RunningSandbox) -> dict[str, str]:
    return {"POS_CLIENT_ADMIN_TOKEN": sandbox.admin_token(), "POS_CLIENT_LEDGER_URL": sandbox.url}


def test_an_installer_sees_why_the_lane_refuses_offline_sales_above_3_million(
    sandbox: RunningSandbox,
) -> None:
    env = _admin_env(sandbox)
    key = "offline.max_rial_per_transaction"
    done = cli("fleet", "config", "set", "chain", f"{key}=3,000,000", "--ceiling", env=env)
    assert done.returncode == 0, done.stderr
    assert "version tc-000001" in done.stdout
    assert sandbox.admin_token() not in done.stdout + done.stderr

    synced = cli("rules", "sync", "--no-catalog", "--config", config(sandbox))
    assert synced.returncode == 0, synced.stderr
    explained = cli("config", "explain", key, "--config", config(sandbox))
    assert explained.returncode == 0, explained.stderr
    assert "tc-000001" in explained.stdout
    assert "3,000,000" in explained.stdout and "ceiling" in explained.stdout
    assert "config file wanted 5,000,000" in explained.stdout

    data = run_json(cli("config", "explain", "--json", "--config", config(sandbox)))
    by_key = {row["key"]: row for row in data["keys"]}
    assert by_key[key]["value"] == 3_000_000 and by_key[key]["source"] == "ceiling"
    assert by_key["ui.language"]["source"] in ("file", "default")
    assert data["version"] == "tc-000001"


def test_fleet_config_set_keeps_the_layers_other_values_and_locks(
    sandbox: RunningSandbox,
) -> None:
    env = _admin_env(sandbox)
    assert (
        cli("fleet", "config", "set", "store", "S-001", "ui.language=en", env=env).returncode == 0
    )
    assert (
        cli("fleet", "config", "set", "store", "S-001", "ui.currency=rial", env=env).returncode == 0
    )
    assert (
        cli(
            "fleet", "config", "set", "chain", "offline.enabled=false", "--lock", env=env
        ).returncode
        == 0
    )
    store = run_json(cli("fleet", "config", "show", "store", "S-001", "--json", env=env))
    assert store["values"] == {"ui": {"currency": "rial", "language": "en"}}
    chain = run_json(cli("fleet", "config", "show", "chain", "--json", env=env))
    assert chain["locks"] == ["offline.enabled"]


def test_bad_input_is_one_sentence_and_changes_nothing(sandbox: RunningSandbox) -> None:
    env = _admin_env(sandbox)
    for words, needle in (
        (["chain", "offline.max_rial=1"], "offline.max_rial"),
        (["chain", "offline.max_hours_since_contact=9999"], "offline.max_hours_since_contact"),
        (["store", "S-001", "ui.language=de"], "ui.language"),
        (["store", "S-001", "ui.language=fa", "--lock"], "chain layer only"),
        (["lane", "T-0003", "offline.enabled=false"], "no terminal T-0003"),
        (["moon", "x=1"], "say which layer"),
    ):
        done = cli("fleet", "config", "set", *words, env=env)
        assert done.returncode != 0, words
        assert "Traceback" not in done.stderr and needle in done.stderr, (words, done.stderr)
    without = cli(
        "fleet",
        "config",
        "set",
        "chain",
        "offline.enabled=false",
        env={"POS_CLIENT_LEDGER_URL": sandbox.url, "POS_CLIENT_ADMIN_TOKEN": ""},
    )
    assert without.returncode != 0 and "POS_CLIENT_ADMIN_TOKEN" in without.stderr
    lane_token = {
        "POS_CLIENT_ADMIN_TOKEN": sandbox.terminal()["token"],
        "POS_CLIENT_LEDGER_URL": sandbox.url,
    }
    refused = cli("fleet", "config", "set", "chain", "offline.enabled=false", env=lane_token)
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    chain = json.loads(cli("fleet", "config", "show", "chain", "--json", env=env).stdout)
    assert chain["version"] == "tc-000000"
    unknown = cli("config", "explain", "offline.nope", "--config", config(sandbox))
    assert unknown.returncode != 0 and "offline.nope" in unknown.stderr
