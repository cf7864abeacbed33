"""Training mode switches the demo's sandbox ledger "down" from the screen, and back.

The real App under Pilot, the real sandbox over loopback: the key exists only in
training mode with the demo's switch, every ledger request fails while the
ledger is off, the status line says so, and a sale made meanwhile is approved
offline and sent once the ledger is on again.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from pos_client.commands.training import SandboxOutage
from pos_client.errors import ConfigError, LedgerUnavailable
from pos_client.sandbox.server import RunningSandbox
from pos_client.tui.app import LEDGER_SWITCH_KEY, DemoGuide, PosApp
from pos_client.tui.screens.basket import BasketScreen
from pos_client.tui.screens.identify import IdentifyScreen
from pos_client.tui.widgets.keybar import KeyBar
from pos_client.tui.widgets.status import StatusBar

from .conftest import app_for, product
from .pilot import message, scan, settle, texts_of_screen, until
from .test_checkout import review_and_confirm, settlement


def faults(sandbox: RunningSandbox) -> list[dict[str, Any]]:
    with sandbox.client(None) as client:
        response = client.get("/sandbox/faults")
        response.raise_for_status()
        return list(response.json()["faults"])


def training_app(sandbox: RunningSandbox, lane: Any, **options: Any) -> PosApp:
    switch = SandboxOutage(sandbox, lane.config.ledger.url)
    guide = DemoGuide(lane_name="t", ledger_switch=switch)
    options.setdefault("training", True)
    return app_for(lane, guide=guide, language="en", **options)


async def switch_ledger(pilot: Any, *, off: bool) -> None:
    app = pilot.app
    await pilot.press(LEDGER_SWITCH_KEY)
    await until(pilot, lambda: app.ledger_switched_off is off, "the ledger switched")
    app.read_status()
    await until(pilot, lambda: app.status.ledger_switched_off is off, "the status read again")
    await settle(pilot)


async def test_the_training_key_switches_the_ledger_off_and_on(sandbox, lane):
    app = training_app(sandbox, lane)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        assert LEDGER_SWITCH_KEY in app.screen.active_bindings
        key_bar = app.screen.query_one(KeyBar)
        assert app.texts.line("key.switch_ledger") in str(key_bar.render())
        await switch_ledger(pilot, off=True)
        assert [(f["kind"], f["path"], f["count"]) for f in faults(sandbox)] == [
            ("unavailable", "/v1/*", None)
        ]
        with pytest.raises(LedgerUnavailable):  # every request of the contract fails
            await lane.ledger.health()
        with pytest.raises(LedgerUnavailable):
            await lane.refresh.sync_rules()
        # The status line says so plainly, and the screen was told.
        bar = app.screen.query_one(StatusBar)
        expected = app.texts.line("status.ledger_switched_off")
        await until(pilot, lambda: expected in str(bar.render()), "the outage on the status line")
        assert app.status.online is False
        await switch_ledger(pilot, off=False)
        assert faults(sandbox) == []
        await lane.ledger.health()  # reachable again
        assert expected not in str(bar.render())


async def test_a_sale_while_the_ledger_is_off_is_approved_offline_then_sent(sandbox, lane):
    app = training_app(sandbox, lane)
    token = sandbox.mint_token(sandbox.household("kalabarg")["national_id"])
    milk = product(sandbox, "milk-lowfat")
    async with app.run_test(size=(120, 30)) as pilot:
        await scan(pilot, token)
        assert isinstance(app.screen, BasketScreen), message(app)
        await scan(pilot, milk["gtin"])
        await switch_ledger(pilot, off=True)
        result = await review_and_confirm(pilot)
        assert result.outcome.status == "approved_offline", message(app)
        assert app.texts.t("result.offline_note") in texts_of_screen(app)
        assert settlement_count(sandbox) is None  # the books cannot be read: the ledger is off
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, IdentifyScreen), "the idle screen")
        await switch_ledger(pilot, off=False)
        await pilot.press("f5")  # send the queue now
        await settle(pilot)
        await until(pilot, lambda: app.status.queue_count == 0, "the queue emptied")
    assert settlement(sandbox)["count"] == 1


async def test_a_household_never_seen_here_shops_with_its_kb2_token_while_the_ledger_is_off(
    sandbox, lane
):
    """What the demo shows a newcomer: F12, the household's KB2 QR token, an offline sale."""
    app = training_app(sandbox, lane)
    nid = sandbox.household("kalabarg")["national_id"]
    token = sandbox.mint_token(nid, version=2)  # /sandbox/ answers while the ledger is off
    milk = product(sandbox, "milk-lowfat")
    async with app.run_test(size=(120, 30)) as pilot:
        await switch_ledger(pilot, off=True)
        await scan(pilot, token)
        assert isinstance(app.screen, BasketScreen), message(app)
        await scan(pilot, milk["gtin"])
        result = await review_and_confirm(pilot)
        assert result.outcome.status == "approved_offline", message(app)
        assert result.outcome.offline_source == "household_card"
        assert app.texts.t("result.from_card") in texts_of_screen(app)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, IdentifyScreen), "the idle screen")
        await switch_ledger(pilot, off=False)
        await pilot.press("f5")
        await settle(pilot)
        await until(pilot, lambda: app.status.queue_count == 0, "the queue emptied")
    books = settlement(sandbox)
    assert books["count"] == 1 and books["covered_rial"] == result.outcome.covered_rial


def settlement_count(sandbox: RunningSandbox) -> int | None:
    try:
        return int(settlement(sandbox)["count"])
    except httpx.HTTPStatusError:  # 503 while the ledger is off
        return None


@pytest.mark.parametrize("training", [False, True])
async def test_no_key_outside_training_mode_or_without_the_demo_switch(sandbox, lane, training):
    # Outside training the switch is never bound, even if a guide carried one; in
    # training without the demo's switch (no guide) there is nothing to bind either.
    if training:
        app = app_for(lane, training=True, language="en")
    else:
        app = training_app(sandbox, lane, training=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        assert LEDGER_SWITCH_KEY not in app.screen.active_bindings
        assert app.texts.line("key.switch_ledger") not in str(app.screen.query_one(KeyBar).render())
        await pilot.press(LEDGER_SWITCH_KEY)
        await app.run_action("switch_ledger")  # not reachable by name either
        await settle(pilot)
        assert app.ledger_switched_off is False
    assert faults(sandbox) == []
    await lane.ledger.health()


def test_the_switch_works_only_against_the_demo_sandbox(sandbox):
    SandboxOutage(sandbox, sandbox.url)
    with pytest.raises(ConfigError):
        SandboxOutage(sandbox, "https://ledger.example.ir/")
    with pytest.raises(ConfigError):  # another port of the same host is another ledger
        host, port = sandbox.url.rstrip("/").rsplit(":", 1)
        SandboxOutage(sandbox, f"{host}:{int(port) + 1}/")


async def test_the_training_help_names_the_key(sandbox, lane):
    from pos_client.tui.screens.help import HelpScreen

    app = training_app(sandbox, lane)
    async with app.run_test(size=(120, 60)) as pilot:
        await pilot.press("f1")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), "the help screen")
        wanted = app.texts.t("help.demo.ledger_switch", switch="F12", sync="F5")
        assert wanted in texts_of_screen(app)
