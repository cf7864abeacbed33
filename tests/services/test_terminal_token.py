"""The terminal token: rotated between two sales with no failed sale, a crash in the middle
of a rotation, and a lane revoked mid-day (the real sandbox, a real store, the real CLI)."""

from __future__ import annotations

import asyncio
import json
import os
import stat
from pathlib import Path

import pytest

from pos_client.adapters.lane_token import rotation_lock
from pos_client.config import load_config
from pos_client.domain.states import SaleStatus
from pos_client.errors import CheckoutRefused
from pos_client.sandbox.server import RunningSandbox
from pos_client.services.lane_standing import REVOKED_SENTENCE
from tests.support.cli import cli, config
from tests.support.lane import MILK_1L, PASTA, lane, sell

GRACE_AND_A_BIT = 11 * 60  # the old token works 10 minutes after a rotation


def _token(path: Path) -> str:
    return load_config(path).ledger.token


async def test_a_rotation_by_the_cli_between_two_sales_of_a_running_lane_fails_no_sale(
    sandbox: RunningSandbox,
) -> None:
    path = sandbox.config_path("T-0001")
    old = _token(path)
    async with lane(sandbox) as app:
        assert (await sell(app, sandbox, PASTA)).status is SaleStatus.APPROVED
        rotated = await asyncio.to_thread(cli, "token", "rotate", "--config", str(path))
        assert rotated.returncode == 0, rotated.stderr
        new = _token(path)
        assert new != old
        for text in (rotated.stdout, rotated.stderr):
            assert old not in text and new not in text
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        sandbox.advance_clock(GRACE_AND_A_BIT)  # the old token is refused from now on
        # the running lane took the new token from its config file, without a restart
        assert (await sell(app, sandbox, MILK_1L)).status is SaleStatus.APPROVED


async def test_the_lane_rotates_itself_when_due_and_keeps_selling(
    sandbox: RunningSandbox,
) -> None:
    path = sandbox.config_path("T-0001")
    old = _token(path)
    async with lane(sandbox) as app:
        assert not app.tokens.due()  # the first look starts the count
        app.tokens.every = app.tokens.every * 0
        assert app.tokens.due()
        assert (await sell(app, sandbox, PASTA)).status is SaleStatus.APPROVED
        assert await app.tokens.rotate_if_due()
        assert _token(path) != old
        sandbox.advance_clock(GRACE_AND_A_BIT)
        assert (await sell(app, sandbox, MILK_1L)).status is SaleStatus.APPROVED


class _Crash(BaseException):
    """The process dies here (not an error anything catches)."""


async def test_a_crash_between_the_ledgers_answer_and_the_write_does_not_lock_the_lane_out(
    sandbox: RunningSandbox,
) -> None:
    path = sandbox.config_path("T-0001")
    old = _token(path)
    async with lane(sandbox) as app:

        def crash(token: str) -> None:
            raise _Crash

        app.tokens._save = crash
        with pytest.raises(_Crash):
            await app.tokens.rotate()  # the ledger made a new token; the lane lost it
    assert _token(path) == old
    sandbox.advance_clock(5 * 60)  # the lane starts again within the old token's grace
    async with lane(sandbox) as app:
        assert app.tokens.pending_since is not None
        assert app.tokens.due()  # an unfinished rotation is owed at once
        assert await app.tokens.rotate_if_due()
        assert app.tokens.pending_since is None
        assert _token(path) != old
        sandbox.advance_clock(GRACE_AND_A_BIT)
        assert (await sell(app, sandbox, PASTA)).status is SaleStatus.APPROVED


async def test_a_lane_revoked_mid_day_refuses_the_next_sale_and_keeps_its_outbox(
    sandbox: RunningSandbox,
) -> None:
    async with lane(sandbox) as app:
        assert (await sell(app, sandbox, PASTA)).status is SaleStatus.APPROVED
        sandbox.add_fault("unavailable", "/v1/*", count=None)
        queued = await sell(app, sandbox, MILK_1L)
        assert queued.status is SaleStatus.APPROVED_OFFLINE
        sandbox.clear_faults()
        admin = sandbox.admin_token("M-0001")
        revoked = await asyncio.to_thread(
            cli,
            "fleet",
            "revoke",
            "T-0001",
            "--ledger",
            sandbox.url,
            env={"POS_CLIENT_ADMIN_TOKEN": admin},
        )
        assert revoked.returncode == 0, revoked.stderr
        assert admin not in revoked.stdout + revoked.stderr
        assert "T-0001" in revoked.stdout
        with pytest.raises(CheckoutRefused) as first:
            await sell(app, sandbox, PASTA)
        assert first.value.code == "terminal_revoked"
        assert first.value.message == REVOKED_SENTENCE
        # the forwarder cannot send it, and keeps it for when the lane is enrolled again
        await app.forwarder.sync()
        assert [item.redemption_id for item in app.records.outbox()] == [queued.id]
        # from now on the lane says so before asking anyone, offline too
        sandbox.add_fault("unavailable", "/v1/*", count=None)
        with pytest.raises(CheckoutRefused) as again:
            await sell(app, sandbox, MILK_1L)
        assert again.value.code == "terminal_revoked"
        assert again.value.message == REVOKED_SENTENCE
        sandbox.clear_faults()
        assert len(app.records.outbox()) == 1
    stats = cli("queue", "stats", "--config", config(sandbox), "--json")
    assert stats.returncode == 0, stats.stderr
    assert '"count":1' in stats.stdout.replace(" ", "")


def test_the_doctor_says_in_one_sentence_that_the_terminal_was_revoked(
    sandbox: RunningSandbox,
) -> None:
    with sandbox.admin_client("M-0001") as admin:
        assert admin.post("/v1/terminals/T-0001/revoke").status_code == 200
    for lang, word in (("en", "revoked"), ("fa", "لغو")):
        result = cli("doctor", "--config", config(sandbox), "--json", "--lang", lang)
        assert result.returncode == 1
        report = json.loads(result.stdout)
        token = {c["name"]: c for c in report["checks"]}["token"]
        assert token["verdict"] == "failed"
        assert word in token["detail"] and "enrol" in token["advice"]
        assert sandbox.terminal("T-0001")["token"] not in result.stdout


def test_two_rotations_at_once_one_waits_its_turn(sandbox: RunningSandbox) -> None:
    path = sandbox.config_path("T-0001")
    old = _token(path)
    with rotation_lock(path) as mine:
        assert mine
        busy = cli("token", "rotate", "--config", str(path))
    assert busy.returncode == 1
    assert "another process is rotating" in busy.stderr
    assert _token(path) == old
    assert cli("token", "rotate", "--config", str(path)).returncode == 0
    assert _token(path) != old
