"""A lane that breaks the offline limits is caught by the ledger; the shop is told what to collect.

The lane is the real client (checkout, store, forwarder, ``pos-client problems
list``). It breaks the rule set's offline limit per household and day the way a
real terminal can: its store is replaced during the day (a reinstall, a new
disk), so it no longer counts what it already approved offline that day, and
approves as much again for the same household.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from pos_client.config import load_config
from pos_client.sandbox.server import RunningSandbox
from tests.support.lane import PASTA, lane, ledger_redemption, national_id

DAY_LIMIT = 5_000_000  # Kalabarg's offline limit per household and day in the demo rules
SALE = 7 * 420_000  # seven packets of pasta: inside every limit the lane checks alone


def _replaced_store_config(sandbox: RunningSandbox, folder: Path) -> Path:
    """The terminal's own config with its store somewhere new."""
    text = sandbox.config_path("T-0001").read_text(encoding="utf-8")
    store = folder / "replaced-store.sqlite"
    text = re.sub(r'(?m)^path = ".*"$', lambda _: f"path = {json.dumps(str(store))}", text)
    path = folder / "lane-T-0001-replaced.toml"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path


async def _offline_sale(app: Any, sandbox: RunningSandbox, token: str) -> Any:
    session = app.checkout.new_session()
    await session.identify_token(token)  # online: the wallet is fetched and kept
    session.scan(PASTA, quantity_milli=7000)
    sandbox.add_fault("rate_limit", "/v1/redemptions", count=None, retry_after=60)
    try:
        outcome = await session.confirm()
    finally:
        sandbox.clear_faults()
    assert outcome.status == "approved_offline", outcome
    assert outcome.covered_rial == SALE
    session.acknowledge()
    return outcome


async def test_a_lane_over_the_daily_offline_limit_is_declined_and_files_a_problem(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    assert 2 * SALE > DAY_LIMIT >= SALE
    nid = national_id(sandbox, "large")
    replaced = _replaced_store_config(sandbox, tmp_path)
    async with lane(sandbox) as before:
        first = await _offline_sale(before, sandbox, sandbox.mint_token(nid))
        report = await before.forwarder.sync(until_empty=True, timeout=30)
        assert report.approved == 1 and report.problems == 0
    async with lane(sandbox, config=load_config(replaced)) as after:
        second = await _offline_sale(after, sandbox, sandbox.mint_token(nid))
        report = await after.forwarder.sync(until_empty=True, timeout=30)
        assert report.remaining == 0 and report.declined == 1 and report.problems == 1
    answer = ledger_redemption(sandbox, second.id)
    assert (answer["status"], answer["reason"]) == ("declined", "offline_not_allowed")
    assert ledger_redemption(sandbox, first.id)["status"] == "approved"

    command = ["problems", "list", "--config", str(replaced), "--json"]
    listed = subprocess.run(
        [sys.executable, "-m", "pos_client.cli", *command],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr
    [problem] = json.loads(listed.stdout)
    assert problem["redemption_id"] == second.id
    assert problem["kind"] == "declined_after_offline"
    assert problem["collect_rial"] == SALE
    assert problem["resolved_at"] is None
