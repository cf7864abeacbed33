"""The lane agent's background work, in process over the real sandbox: the fetch ahead of a
tranche unlock runs once the first refresh has told the lane of the unlock."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from pos_client.agent.background import prefetch_loop, refresh_loop
from pos_client.ports import SystemClock
from pos_client.sandbox.server import RunningSandbox
from tests.support.lane import lane


async def test_the_agent_fetches_ahead_of_an_unlock_its_first_refresh_announced(
    sandbox: RunningSandbox,
) -> None:
    async with lane(sandbox, clock=SystemClock()) as app:  # real waits: a pause is a pause
        rules = app.rules.current()
        assert rules is not None and rules.next_unlock_at is None
        unlock = (datetime.now(UTC) + timedelta(seconds=8)).replace(microsecond=0)
        sandbox.set_next_unlock(unlock)  # announced while the agent was down: it learns it now
        app.prefetch.window, app.prefetch.lead = timedelta(seconds=5), timedelta(seconds=1)
        stop, refreshed = asyncio.Event(), asyncio.Event()
        # The refresh comes round again only after a long interval: what is fetched ahead of the
        # unlock is the prefetch's doing.
        tasks = [
            asyncio.create_task(refresh_loop(app, stop, interval=3600, refreshed=refreshed)),
            asyncio.create_task(prefetch_loop(app, stop, refreshed, recheck=3600)),
        ]
        try:
            await asyncio.wait_for(refreshed.wait(), timeout=30)
            rules = app.rules.current()
            assert rules is not None and rules.next_unlock_at == unlock
            newer = sandbox.revise_catalog()  # published ahead of the unlock
            while app.store.catalog_state()[0] != newer:
                assert datetime.now(UTC) < unlock, "the agent did not fetch before the unlock"
                await asyncio.sleep(0.05)
        finally:
            stop.set()
            await asyncio.gather(*tasks)
