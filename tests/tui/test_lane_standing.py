"""A revoked lane says so on the screen in one sentence, in the cashier's language."""

from __future__ import annotations

from pos_client.tui.screens.identify import IdentifyScreen

from .conftest import app_for
from .pilot import message, type_line


async def test_a_lane_revoked_mid_day_says_so_on_the_screen(sandbox, lane):
    with sandbox.admin_client("M-0001") as admin:
        assert admin.post("/v1/terminals/T-0001/revoke").status_code == 200
    for language in ("en", "fa"):
        app = app_for(lane, language=language)
        async with app.run_test(size=(80, 24)) as pilot:
            await type_line(pilot, sandbox.household("kalabarg")["national_id"])
            assert isinstance(app.screen, IdentifyScreen)
            assert message(app) == app.texts.t("error.terminal_revoked")
