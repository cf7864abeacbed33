"""The composition root opens the lane's devices and hands them over typed by the ports."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from drivers.scanner import ScannerStatus
from drivers.scanner.virtual import send_to_lane
from pos_client import compose
from pos_client.compose import Lane, build_app
from pos_client.config import load_config
from pos_client.errors import ScaleError, ScannerError
from pos_client.sandbox.server import RunningSandbox
from tests.drivers.conftest import Recorder


def lane_with(sandbox: RunningSandbox, **devices: str) -> Lane:
    config = load_config(sandbox.config_path("T-0001"))
    return build_app(replace(config, devices=replace(config.devices, **devices)))


async def test_the_lane_is_named_lane_and_keeps_its_old_name_for_callers_not_yet_moved() -> None:
    assert compose.App is compose.Lane
    assert "Lane" in compose.__all__


async def test_the_lane_opens_its_scale_and_the_screen_only_reads_it(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    lane = lane_with(sandbox, scale="virtual-scale://compose-test?weight=845")
    try:
        scale = lane.open_scale(runtime_dir=tmp_path / "run")
        assert scale is not None
        try:
            assert scale.read_weight(timeout=3.0) == 845
        finally:
            scale.close()
    finally:
        await lane.aclose()


async def test_no_scale_configured_is_none_and_a_bad_one_a_scale_error(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    lane = lane_with(sandbox, scale="")
    try:
        assert lane.open_scale(runtime_dir=tmp_path / "run") is None
        lane.config = replace(
            lane.config, devices=replace(lane.config.devices, scale="virtual-scale://bad name")
        )
        with pytest.raises(ScaleError):
            lane.open_scale(runtime_dir=tmp_path / "run")
    finally:
        await lane.aclose()


async def test_the_lane_opens_and_starts_its_scanners_and_scans_reach_the_callback(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    lane = lane_with(sandbox)
    recorder = Recorder()
    run = tmp_path / "run"
    try:
        assert lane.open_scanners([], on_scan=recorder.on_scan, on_state=recorder.on_state) is None
        scanners = lane.open_scanners(
            ["virtual://compose-lane"],
            on_scan=recorder.on_scan,
            on_state=recorder.on_state,
            runtime_dir=run,
        )
        assert scanners is not None
        try:
            recorder.wait_state(ScannerStatus.CONNECTED)
            assert scanners.status is ScannerStatus.CONNECTED
            assert send_to_lane("compose-lane", ["6260000000019"], runtime_dir=run) == 1
            assert recorder.wait_scans(1) == ["6260000000019"]
        finally:
            scanners.stop()
        assert scanners.status is ScannerStatus.STOPPED
    finally:
        await lane.aclose()


async def test_a_scanner_configured_twice_is_refused_and_nothing_is_left_running(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    lane = lane_with(sandbox)
    recorder = Recorder()
    try:
        with pytest.raises(ScannerError, match="configured twice"):
            lane.open_scanners(
                ["virtual://twice", "virtual://twice"],
                on_scan=recorder.on_scan,
                on_state=recorder.on_state,
                runtime_dir=tmp_path / "run",
            )
        assert recorder.states == []
    finally:
        await lane.aclose()
