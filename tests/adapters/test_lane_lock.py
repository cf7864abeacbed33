"""One owner per lane's store: the lock file beside it (``adapters/lane_lock.py``)."""

from __future__ import annotations

import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pos_client.adapters.lane_lock import hold_lane, lock_path
from pos_client.errors import StoreError


def test_a_second_owner_is_refused_with_who_holds_it_until_the_first_lets_go(
    tmp_path: Path,
) -> None:
    store = tmp_path / "lane.sqlite"
    first = hold_lane(store, holder="agent")
    assert stat.S_IMODE(lock_path(store).stat().st_mode) == 0o600
    with pytest.raises(StoreError) as refused:
        hold_lane(store, holder="screen")
    assert refused.value.code == "lane_in_use"
    assert "the lane agent" in refused.value.message and str(store) in refused.value.message
    with pytest.raises(StoreError, match=r"سرویس پایانه \(pos-client agent\)"):
        hold_lane(store, holder="screen", lang="fa")
    first.release()
    with hold_lane(store, holder="screen"):
        with pytest.raises(StoreError, match="the checkout screen"):
            hold_lane(store, holder="agent")


def test_a_lock_held_by_a_killed_process_is_free_again(tmp_path: Path) -> None:
    store = tmp_path / "lane.sqlite"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import sys, time
                from pos_client.adapters.lane_lock import hold_lane
                hold_lane({str(store)!r}, holder="agent")
                print("held", flush=True)
                time.sleep(60)
                """
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    with pytest.raises(StoreError, match=f"pid {holder.pid}"):
        hold_lane(store, holder="screen")
    holder.kill()
    holder.wait(timeout=10)
    hold_lane(store, holder="screen").release()
