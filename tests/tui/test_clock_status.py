"""The status line says when the lane's clock is off from the ledger's (real app under Pilot)."""

from __future__ import annotations

from datetime import timedelta

from pos_client.domain.clock import CLOCK_TOLERANCE
from pos_client.tui.widgets.status import StatusBar, StatusView, status_segments

from .conftest import app_for
from .pilot import settle, until


async def test_a_lane_clock_ten_minutes_off_shows_on_the_status_line(sandbox, lane):
    sandbox.advance_clock(600)  # the ledger's clock is 10 minutes ahead of the lane's
    await lane.refresh.sync_rules()  # an answer: the lane measures its clock
    app = app_for(lane, language="en")
    async with app.run_test(size=(140, 30)) as pilot:
        await settle(pilot)
        app.read_status()
        expected = app.texts.t("status.clock_off", minutes=10)
        await until(pilot, lambda: app.status.clock_off_minutes == 10, "the clock's offset read")
        bar = app.screen.query_one(StatusBar)
        await until(pilot, lambda: expected in str(bar.render()), "the clock on the bar")


def test_the_status_line_shows_the_clock_only_beyond_the_one_tolerance():
    from pos_client.tui.i18n import Texts
    from pos_client.tui.widgets.status import clock_off_minutes

    assert clock_off_minutes(CLOCK_TOLERANCE) is None
    assert clock_off_minutes(-CLOCK_TOLERANCE - timedelta(minutes=1)) == 6
    assert clock_off_minutes(None) is None
    view = StatusView(online=True, clock_off_minutes=6)
    texts = Texts(lang="en")  # type: ignore[arg-type]
    assert status_segments(view, texts)[1] == ("clock off by 6 min", "status-bad")
