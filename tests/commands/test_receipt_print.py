"""``pos-client receipt print`` on a network printer that stops taking the receipt mid-job.

A real process, a real sandbox ledger and a real TCP printer on loopback
(:mod:`tests.drivers.netprinter`): a receipt the printer took only part of is
not printed; the command says so in one line, offers to print it again, and
leaves the sale as it was.
"""

from __future__ import annotations

import pytest

from pos_client.domain.states import RedemptionStatus as S
from pos_client.sandbox.server import RunningSandbox
from tests.drivers.netprinter import LoopbackPrinter
from tests.support.cli import cli
from tests.support.lane import PASTA, RICE_5KG, lane, sell, with_printer


@pytest.mark.parametrize("then_close", [False, True])
async def test_a_receipt_cut_short_by_a_network_printer_is_not_printed(
    sandbox: RunningSandbox, then_close: bool
) -> None:
    async with lane(sandbox) as app:
        outcome = await sell(app, sandbox, RICE_5KG, PASTA)
    assert outcome.id is not None

    with LoopbackPrinter(stop_after=300, then_close=then_close) as far_end:
        config = with_printer(sandbox, f"{far_end.url}?timeout_ms=300", "lane-cut-short.toml")
        failed = cli("receipt", "print", outcome.id, "--config", str(config))
    assert failed.returncode == 1 and failed.stdout == ""
    assert "Traceback" not in failed.stderr
    assert len(failed.stderr.strip().splitlines()) == 1
    assert failed.stderr.startswith("pos-client: the printer 127.0.0.1:")
    assert "cut short" in failed.stderr
    assert f"pos-client receipt print {outcome.id}" in failed.stderr  # the way to print again

    with LoopbackPrinter() as far_end:  # the printer back in order: printing again works
        config = with_printer(sandbox, f"{far_end.url}?timeout_ms=3000", "lane-fixed.toml")
        printed = cli("receipt", "print", outcome.id, "--config", str(config))
        assert far_end.stopped.wait(5)
    assert printed.returncode == 0, printed.stderr
    assert outcome.receipt_code and outcome.receipt_code in printed.stdout

    async with lane(sandbox, sync=False) as app:  # the sale is untouched
        entry = app.store.redemption(outcome.id)
        assert entry is not None and entry.status is S.APPROVED
