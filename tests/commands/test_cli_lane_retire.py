"""``pos-client lane retire``: refused while sales are owed, ``--force`` keeps the store."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pos_client.errors import CheckoutRefused
from pos_client.sandbox.server import RunningSandbox
from pos_client.services.lane_standing import RETIRED_SENTENCE
from tests.support.cli import cli, config, run_json
from tests.support.lane import MILK_1L, PASTA, lane, sell


async def _queue_one_offline(sandbox: RunningSandbox) -> None:
    async with lane(sandbox) as app:
        assert (await sell(app, sandbox, PASTA)).goes_ahead  # the household's wallet is saved
        sandbox.add_fault("unavailable", "/v1/*", count=None)
        assert (await sell(app, sandbox, MILK_1L)).goes_ahead
        sandbox.clear_faults()


async def test_retire_is_refused_while_the_outbox_holds_a_sale_and_says_what_is_left(
    sandbox: RunningSandbox,
) -> None:
    await _queue_one_offline(sandbox)
    refused = cli("lane", "retire", "--config", config(sandbox))
    assert refused.returncode == 1
    assert "1 sale(s)" in refused.stderr and "420,000 Rials" in refused.stderr
    assert "--force" in refused.stderr and "Traceback" not in refused.stderr
    async with lane(sandbox) as app:  # not retired: it sells
        assert (await sell(app, sandbox, PASTA)).goes_ahead


async def test_retire_force_keeps_the_store_and_the_lane_sells_no_more(
    sandbox: RunningSandbox,
) -> None:
    await _queue_one_offline(sandbox)
    retired = cli("lane", "retire", "--config", config(sandbox), "--force", "--json")
    assert retired.returncode == 0, retired.stderr
    answer = run_json(retired)
    assert answer["retired"] is True and answer["left"]["count"] == 1
    assert answer["left"]["rial"] == 420_000
    store = Path(answer["store"])
    assert store.exists() and os.path.samefile(store.parent, sandbox.data_dir)
    async with lane(sandbox) as app:
        with pytest.raises(CheckoutRefused) as refused:
            await sell(app, sandbox, PASTA)
        assert refused.value.code == "lane_retired"
        assert refused.value.message == RETIRED_SENTENCE
        assert len(app.records.outbox()) == 1


async def test_retire_an_empty_lane(sandbox: RunningSandbox) -> None:
    retired = cli("lane", "retire", "--config", config(sandbox))
    assert retired.returncode == 0, retired.stderr
    assert "retired" in retired.stdout and "kept at" in retired.stdout
    redeem = cli("token", "rotate", "--config", config(sandbox))
    assert redeem.returncode == 1
    assert RETIRED_SENTENCE in redeem.stderr
