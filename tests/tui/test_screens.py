"""Settings, help, diagnostics and the keys: what a shopkeeper reaches from the idle screen."""

from __future__ import annotations

from pos_client.tui.app import DemoGuide
from pos_client.tui.screens.diagnostics import DiagnosticsScreen
from pos_client.tui.screens.help import HelpScreen
from pos_client.tui.screens.identify import IdentifyScreen
from pos_client.tui.screens.problems import ProblemsScreen
from pos_client.tui.screens.settings import SettingsScreen
from pos_client.tui.widgets.keybar import KeyBar
from pos_client.tui.widgets.text import BidiText

from .conftest import app_for
from .pilot import message, settle, texts_of_screen, until


async def test_settings_switch_to_english_and_rial(lane):
    app = app_for(lane)
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.texts.lang == "fa"
        await pilot.press("f8")
        await until(pilot, lambda: isinstance(app.screen, SettingsScreen), "settings")
        await pilot.press("right")  # language: English
        await pilot.press("down", "right")  # currency: Rial
        await pilot.press("f2")
        await until(pilot, lambda: isinstance(app.screen, IdentifyScreen), "the idle screen")
        await settle(pilot)
        assert (app.texts.lang, app.texts.currency) == ("en", "rial")
        title = app.screen.query_one(".title", BidiText).text
        assert title == "New sale"
        assert not app.has_class("-rtl")
    # Kept on the lane: the next start is in English and Rial; a flag still wins for its run.
    again = app_for(lane)
    assert (again.texts.lang, again.texts.currency) == ("en", "rial")
    assert app_for(lane, language="fa").texts.lang == "fa"
    lane.store.set_meta("ui.language", "klingon")  # a store edited by hand: ignored
    assert app_for(lane).texts.lang == lane.config.ui.language


async def test_help_shows_the_keys_and_how_to_try_the_demo(lane):
    guide = DemoGuide(
        lane_name="demo",
        commands=("pos-client scan --lane demo 6260000000019",),
        households=(("Kalabarg and donor credit", "3905466015"),),
        products=(("Iranian rice 10 kg", "6260000000019", 14_500_000),),
    )
    app = app_for(lane, training=True, guide=guide, language="en")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f1")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), "help")
        shown = texts_of_screen(app)
        assert "pos-client scan --lane demo 6260000000019" in shown
        assert "3905466015" in shown
        assert "F2  Void" in shown and "F2  Review" in shown
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, IdentifyScreen), "back")


async def test_every_action_of_the_idle_screen_has_a_key_in_the_bar(lane):
    app = app_for(lane, language="en")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        bar = app.screen.query_one(KeyBar)
        shown = {item.key for item in bar._items()}
        keys = {b.key for b in IdentifyScreen.BINDINGS if b.show} | {"f1", "ctrl+q"}
        assert keys <= shown
        assert bar.size.height <= 2  # fits in two lines at 80 columns


async def test_problems_list_empty_and_diagnostics_report(lane):
    app = app_for(lane, language="en")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f4")
        await until(pilot, lambda: isinstance(app.screen, ProblemsScreen), "problems")
        await until(
            pilot, lambda: message(app) == app.texts.t("problems.empty"), "nothing to handle"
        )
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, IdentifyScreen), "back")
        await pilot.press("f9")
        await until(pilot, lambda: isinstance(app.screen, DiagnosticsScreen), "diagnostics")
        screen = app.screen
        await until(pilot, lambda: not app.screen.workers, "the checks done")
        names = [check.name.split(":")[0] for check in screen.checks]
        assert names[:3] == ["config", "store", "ledger"]
        ledger = next(check for check in screen.checks if check.name == "ledger")
        assert ledger.verdict.value == "ok"


async def test_diagnostics_ask_the_scale_the_lane_holds_not_a_second_copy(lane, tmp_path):
    from dataclasses import replace

    lane.config = replace(
        lane.config,
        devices=replace(lane.config.devices, scale="virtual-scale://diag?weight=845"),
    )
    app = app_for(lane, language="en", runtime_dir=tmp_path / "run")
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.scale is not None
        await pilot.press("f9")
        await until(pilot, lambda: isinstance(app.screen, DiagnosticsScreen), "diagnostics")
        await until(pilot, lambda: not app.screen.workers, "the checks done")
        scale = next(c for c in app.screen.checks if c.name.startswith("scale"))
        assert scale.verdict.value == "ok" and "845" in scale.detail, scale
        assert app.scale is not None and app.scale.read_weight(timeout=2) == 845  # still open
