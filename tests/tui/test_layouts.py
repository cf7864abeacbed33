"""Tables at the sizes shops have: every column on a small screen, right to left on a wide one."""

from __future__ import annotations

from datetime import timedelta

from pos_client.tui.screens.basket import BasketScreen
from pos_client.tui.screens.diagnostics import DiagnosticsScreen
from pos_client.tui.screens.identify import IdentifyScreen
from pos_client.tui.screens.problems import ProblemsScreen
from pos_client.tui.widgets.table import BidiTable

from .conftest import app_for, product
from .pilot import message, scan, settle, until


def columns_fit(table: BidiTable) -> bool:
    """Every column on screen: nothing to scroll to across."""
    return table.max_scroll_x == 0 and table.virtual_size.width > 0


async def test_f4_and_f9_keep_every_column_on_a_60x20_persian_screen(lane):
    now = lane.clock.now()
    for n, kind in enumerate(("partially_approved", "declined_after_offline")):
        lane.store.add_problem(
            f"r-{n}", kind, at=now - timedelta(minutes=n), collect_rial=12_345_000, detail=""
        )
    app = app_for(lane)  # Persian
    async with app.run_test(size=(60, 20)) as pilot:
        await pilot.press("f4")
        await until(pilot, lambda: isinstance(app.screen, ProblemsScreen), "problems")
        table = app.screen.query_one("#problems", BidiTable)
        await until(pilot, lambda: table.row_count == 2, "the two problems")
        await pilot.pause()
        assert columns_fit(table), (table.virtual_size, table.scrollable_content_region)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, IdentifyScreen), "back")
        await pilot.press("f9")
        await until(pilot, lambda: isinstance(app.screen, DiagnosticsScreen), "diagnostics")
        await until(pilot, lambda: not app.screen.workers, "the checks done")
        await pilot.pause()
        table = app.screen.query_one("#diagnostics", BidiTable)
        assert table.row_count > 3 and columns_fit(table), table.virtual_size


async def test_the_basket_spans_a_wide_right_to_left_screen(sandbox, lane):
    token = sandbox.mint_token(sandbox.household("kalabarg")["national_id"])
    for language in ("fa", "en"):
        app = app_for(lane, language=language)
        async with app.run_test(size=(200, 50)) as pilot:
            await scan(pilot, token)
            assert isinstance(app.screen, BasketScreen), message(app)
            await scan(pilot, product(sandbox, "rice")["gtin"])
            await settle(pilot)
            table = app.screen.query_one("#basket", BidiTable)
            room = table.scrollable_content_region.width
            assert columns_fit(table)
            if language == "fa":  # right to left: from the right edge, no gap on the right
                assert table.virtual_size.width == room, (table.virtual_size, room)
            else:  # left to right: as wide as its columns, from the left
                assert table.virtual_size.width < room - 50
