"""A chain's config layers reach a lane through the real sandbox: signed, between sales only."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from pos_client.compose import build_doctor
from pos_client.errors import DocumentRefused
from pos_client.sandbox.server import RunningSandbox
from pos_client.services.terminal_config import CONFIG_META
from tests.support.lane import MILK_1L, lane, lane_config, national_id

CEILING = {
    "values": {"offline": {"max_rial_per_transaction": 500_000}},
    "ceilings": {"offline.max_rial_per_transaction": 500_000},
}


def _set_chain(sandbox: RunningSandbox, body: dict) -> str:
    with sandbox.admin_client() as admin:
        answer = admin.put("v1/config-layers/chain", json=body)
        assert answer.status_code == 200, answer.text
        return str(answer.json()["version"])


async def _offline_sale(sandbox: RunningSandbox, app: object, *, started: object = None) -> str:
    session = started or app.checkout.new_session()  # type: ignore[attr-defined]
    if started is None:
        await session.identify_token(sandbox.mint_token(national_id(sandbox, "kalabarg")))
        session.scan(MILK_1L, quantity_milli=2000)  # 840,000 Rials
    sandbox.add_fault("rate_limit", "/v1/redemptions", count=None, retry_after=60)
    try:
        outcome = await session.confirm()
    finally:
        sandbox.clear_faults()
    return f"{outcome.status}:{outcome.reason or ''}"


async def test_a_chain_ceiling_refuses_an_offline_sale_above_it_after_the_next_poll(
    sandbox: RunningSandbox,
) -> None:
    async with lane(sandbox) as app:
        assert app.terminal_config is not None and app.terminal_config.version == "tc-000000"
        version = _set_chain(sandbox, CEILING)
        # not polled yet: the lane still runs on what it had
        assert (await _offline_sale(sandbox, app)).startswith("approved_offline")

        # a sale is open when the poll brings the ceiling: it ends on the settings it began with
        open_sale = app.checkout.new_session()
        await open_sale.identify_token(sandbox.mint_token(national_id(sandbox, "kalabarg")))
        open_sale.scan(MILK_1L, quantity_milli=2000)
        synced = await app.refresh.sync_rules()
        assert synced.config is not None and synced.config.version == version
        assert app.checkout.staged_version() == version
        assert (await _offline_sale(sandbox, app, started=open_sale)).startswith("approved_offline")

        # the next sale runs on the new version and is refused above the ceiling
        assert await _offline_sale(sandbox, app) == "refused_offline:over_transaction_limit"
        assert app.checkout.config_version == version
        assert app.terminal_config is not None
        effective = app.terminal_config.effective()["offline.max_rial_per_transaction"]
        # the lane's own file says 5,000,000; the chain's ceiling caps it
        assert (effective.value, effective.source) == (500_000, "ceiling")
        assert (effective.capped_from, effective.wanted_from) == (5_000_000, "file")


async def test_a_bad_signature_keeps_the_last_good_config_and_says_why(
    sandbox: RunningSandbox,
) -> None:
    async with lane(sandbox) as app:
        version = _set_chain(sandbox, CEILING)
        await app.refresh.sync_rules()
        assert app.terminal_config is not None and app.terminal_config.version == version
        good = app.store.get_meta(CONFIG_META)

        _set_chain(sandbox, {"values": {"offline": {"enabled": False}}})
        # a document whose bytes were changed on the way: the signature no longer matches
        fetched = await app.ledger.get_terminal_config()
        assert fetched is not None
        tampered = fetched.body.replace(b"false", b"true ")
        try:
            app.terminal_config.accept(
                tampered, fetched.signature, etag=fetched.etag, at=app.clock.now()
            )
        except DocumentRefused as exc:
            assert exc.code == "signature_invalid"
        else:
            raise AssertionError("a tampered document must be refused")
        assert app.store.get_meta(CONFIG_META) == good
        assert app.terminal_config.version == version
        assert "signature" in (app.terminal_config.last_error() or "")
        assert json.loads(good or "{}")["etag"] == f'"{version}"'


async def test_doctor_names_the_running_version_and_a_refusal(sandbox: RunningSandbox) -> None:
    config = lane_config(sandbox)
    async with lane(sandbox, config=config) as app:
        version = _set_chain(sandbox, CEILING)
        await app.refresh.sync_rules()
    report = await build_doctor(config, lang="en").run(devices=False)
    check = next(c for c in report.checks if c.name == "terminal_config")
    assert check.verdict.value == "ok" and version in check.detail

    async with lane(sandbox, config=config, sync=False) as app:
        assert app.terminal_config is not None
        fetched = await app.ledger.get_terminal_config()
        assert fetched is not None
        with pytest.raises(DocumentRefused):
            app.terminal_config.accept(
                fetched.body + b" ", fetched.signature, etag=None, at=app.clock.now()
            )
    report = await build_doctor(config, lang="en").run(devices=False)
    check = next(c for c in report.checks if c.name == "terminal_config")
    assert check.verdict.value == "warning"
    assert version in check.detail and "signature" in check.detail


async def test_two_versions_before_a_sale_keep_what_each_changed(sandbox: RunningSandbox) -> None:
    async with lane(sandbox, sync=False) as app:
        checkout = app.checkout
        checkout.new_session()
        lower = replace(checkout.settings.limits, max_rial_per_transaction=1_000)
        checkout.stage_settings(limits=lower, sale_budget=None, version="tc-000007")
        checkout.stage_settings(limits=None, sale_budget=7.0, version="tc-000008")
        checkout.new_session()
        assert checkout.settings.limits == lower
        assert checkout.sale_budget == 7.0 and checkout.config_version == "tc-000008"
