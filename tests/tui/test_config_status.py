"""The status line names the chain's terminal config version the checkout runs on (Pilot)."""

from __future__ import annotations

from pos_client.tui.widgets.status import StatusBar

from .conftest import app_for
from .pilot import settle, until


async def test_the_running_config_version_shows_on_the_status_line(sandbox, lane):
    with sandbox.admin_client() as admin:
        put = admin.put("v1/config-layers/chain", json={"values": {"ui": {"currency": "rial"}}})
        version = put.json()["version"]
    await lane.refresh.sync_rules()
    lane.checkout.new_session()  # the version is taken when a sale starts
    app = app_for(lane, language="en")
    async with app.run_test(size=(160, 30)) as pilot:
        await settle(pilot)
        app.read_status()
        expected = app.texts.t("status.config", version=version)
        await until(pilot, lambda: app.status.config_version == version, "the version read")
        bar = app.screen.query_one(StatusBar)
        await until(pilot, lambda: expected in str(bar.render()), "the version on the bar")
