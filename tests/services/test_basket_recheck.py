"""An open basket is checked again after a catalog refresh: a product a delta removed (or
changed) is neither covered nor sent on the old facts, and the lines that changed are named."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pos_client.errors import CheckoutRefused
from pos_client.sandbox.server import RunningSandbox
from pos_client.services.checkout.recheck import LineChange, LineChangeKind
from tests.support.lane import PASTA, PRICES, RICE_5KG, lane, ledger_redemption, national_id

from .test_catalog_text import publish


async def test_a_product_removed_by_a_delta_is_named_and_no_longer_covered(
    sandbox: RunningSandbox,
) -> None:
    async with lane(sandbox) as app:
        session = app.checkout.new_session()
        await session.identify(sandbox.mint_token(national_id(sandbox, "kalabarg")))
        session.scan(RICE_5KG)
        session.scan(PASTA)
        before = session.basket()
        assert before.items[0].covered_rial > 0 and before.items[0].in_catalog
        assert session.recheck() == ()  # nothing changed yet
        rice = app.store.product(RICE_5KG)
        assert rice is not None
        publish(sandbox, replace(rice, deleted=True))
        synced = await app.refresh.sync_catalog()
        assert synced.changed and app.store.product(RICE_5KG) is None

        changes = session.recheck()
        assert changes == (
            LineChange(0, RICE_5KG, before.items[0].line.name, LineChangeKind.LEFT_CATALOG),
        )
        after = session.basket()
        assert not after.items[0].in_catalog and after.items[0].covered_rial == 0
        assert after.items[0].line.quantity_milli == before.items[0].line.quantity_milli
        assert after.items[0].line.unit_price_rial == before.items[0].line.unit_price_rial
        assert after.items[1] == before.items[1]  # the pasta is as it was
        assert after.covered_rial == before.covered_rial - before.items[0].covered_rial
        assert session.recheck() == ()  # told once


async def test_the_confirm_checks_again_and_never_sends_a_removed_product_as_covered(
    sandbox: RunningSandbox,
) -> None:
    """A command-line sale (no screen to call recheck) that a catalog refresh overtook."""
    async with lane(sandbox) as app:
        session = app.checkout.new_session()
        await session.identify(sandbox.mint_token(national_id(sandbox, "kalabarg")))
        session.scan(RICE_5KG)
        session.scan(PASTA)
        rice = app.store.product(RICE_5KG)
        assert rice is not None
        publish(sandbox, replace(rice, deleted=True))
        await app.refresh.sync_catalog()

        journal_before = len(list(app.store.journal()))
        with pytest.raises(CheckoutRefused) as refused:
            await session.confirm()
        assert refused.value.code == "catalog_changed"
        assert "left_catalog" in refused.value.message
        assert session.redemption_id is None  # nothing written, nothing sent
        assert len(list(app.store.journal())) == journal_before

        outcome = await session.confirm()  # the basket as planned again
        assert outcome.status == "approved" and outcome.id is not None
        covered_lines = {a.line for a in outcome.allocations if a.amount_rial > 0}
        assert covered_lines == {1}  # only the pasta is paid by the credit
        sent = ledger_redemption(sandbox, outcome.id)
        assert sent is not None
        assert sent["covered_rial"] == outcome.covered_rial == PRICES[PASTA]  # the rice is not
