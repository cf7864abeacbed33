"""Key rotation and replayed bodies, end to end: a ledger on loopback, the lane's own store.

The ledger rotates its signing key three times (k1 configured, then k2, k3,
k4); a man in the middle then replays bodies the ledger signed earlier. The
lane trusts exactly its configured key and the keys the newest verified rule
set announces, after a restart too, and refuses a rule set or catalog older
than the one in force.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pos_client.compose import App, build_app
from pos_client.config import load_config
from pos_client.domain.national_id import national_id_hash
from pos_client.domain.tokens import TokenClaims, sign_token
from pos_client.services import refresh
from pos_client.services.checkout import CheckoutRefused
from pos_client.services.refresh import DocumentRefused
from tests.support.fakes import QuickClock
from tests.support.replay_ledger import Key, ReplayLedger, catalog, lane_config_file, rules

T0 = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
NATIONAL_ID = "0013542419"  # a valid check digit


@pytest.fixture
def ledger() -> Iterator[ReplayLedger]:
    with ReplayLedger().serve() as running:
        yield running


@asynccontextmanager
async def lane_at(config: Path) -> AsyncIterator[App]:
    app = build_app(load_config(config), clock=QuickClock())
    try:
        yield app
    finally:
        await app.aclose()


def forged_token(key: Key) -> str:
    now = datetime.now(UTC).replace(microsecond=0)
    claims = TokenClaims(
        v=1,
        kid=key.kid,
        national_id=NATIONAL_ID,
        jti=f"jti-{key.kid}",
        issued_at=now - timedelta(seconds=10),
        expires_at=now + timedelta(minutes=5),
        offline_allowance_rial=5_000_000,
    )
    return sign_token(claims, private_key=key.private)


async def test_three_rotations_withdraw_the_keys_no_longer_announced(
    ledger: ReplayLedger, tmp_path: Path
) -> None:
    k1, k2, k3, k4 = Key("k1"), Key("k2"), Key("k3"), Key("k4")
    config = lane_config_file(tmp_path, url=ledger.url, trusted=[k1])
    # The ledger's rule sets through three rotations, each signed by the key before.
    r1 = rules(k1, version="r-2026-11-23-01", issued_at=T0, announce=[k1, k2])
    r2 = rules(k2, version="r-2026-11-24-01", issued_at=T0 + timedelta(days=1), announce=[k2, k3])
    r3 = rules(k3, version="r-2026-11-25-01", issued_at=T0 + timedelta(days=2), announce=[k3, k4])
    r4 = rules(k4, version="r-2026-11-26-01", issued_at=T0 + timedelta(days=3), announce=[k4])
    async with lane_at(config) as app:
        for document, announced in ((r1, {"k1", "k2"}), (r2, {"k1", "k2", "k3"})):
            ledger.rules = document
            assert (await app.refresh.sync_rules()).changed
            assert set(app.rules.trusted_keys()) == announced
        ledger.rules = r3
        await app.refresh.sync_rules()
        assert set(app.rules.trusted_keys()) == {"k1", "k3", "k4"}  # k2 withdrawn
        ledger.rules = r4
        await app.refresh.sync_rules()
        assert app.rules.trusted_keys() == {"k1": k1.public, "k4": k4.public}

        # A catalog signed by a withdrawn key is refused; by the new one it is taken.
        for withdrawn in (k2, k3):
            ledger.catalog = catalog(withdrawn, version="c-000002", count=10)
            with pytest.raises(DocumentRefused) as caught:
                await app.refresh.sync_catalog()
            assert caught.value.code == "signature_unknown_key"
        assert app.store.catalog_state()[2] == 0
        ledger.catalog = catalog(k4, version="c-000002", count=10)
        assert (await app.refresh.sync_catalog()).total == 10

        # Rule sets signed by withdrawn keys, replayed: refused, r4 stays in force.
        for old in (r2, r3):
            ledger.rules = old
            with pytest.raises(DocumentRefused) as caught:
                await app.refresh.sync_rules()
            assert caught.value.code == "signature_unknown_key"
        assert app.rules.current().version == "r-2026-11-26-01"  # type: ignore[union-attr]

        # A QR token forged with a withdrawn key is refused before anything else.
        with pytest.raises(CheckoutRefused) as refused:
            await app.checkout.new_session().identify_token(forged_token(k2))
        assert refused.value.code == "token_unknown_key"

    # Restarted: the lane trusts the new key and not the withdrawn ones.
    async with lane_at(config) as app:
        assert app.rules.current().version == "r-2026-11-26-01"  # type: ignore[union-attr]
        assert app.rules.trusted_keys() == {"k1": k1.public, "k4": k4.public}
        ledger.catalog = catalog(k2, version="c-000003", count=10)
        with pytest.raises(DocumentRefused) as caught:
            await app.refresh.sync_catalog()
        assert caught.value.code == "signature_unknown_key"
        ledger.rules = r2
        with pytest.raises(DocumentRefused) as caught:
            await app.refresh.sync_rules()
        assert caught.value.code == "signature_unknown_key"
        with pytest.raises(CheckoutRefused) as refused:
            await app.checkout.new_session().identify_token(forged_token(k3))
        assert refused.value.code == "token_unknown_key"
        # A lane whose store has no record of the keys that signed its rules
        # (written before that record was kept) checks them with the keys it learnt.
        app.store.set_meta(refresh.RULES_TRUST_META, "")

    async with lane_at(config) as app:
        assert app.rules.current().version == "r-2026-11-26-01"  # type: ignore[union-attr]
        assert app.rules.trusted_keys() == {"k1": k1.public, "k4": k4.public}


async def test_a_replayed_older_rule_set_cannot_undo_a_hot_list_entry(
    ledger: ReplayLedger, tmp_path: Path
) -> None:
    k1 = Key("k1")
    config = lane_config_file(tmp_path, url=ledger.url, trusted=[k1])
    blocked = frozenset({national_id_hash(NATIONAL_ID)})
    before = rules(k1, version="r-2026-11-23-01", issued_at=T0, announce=[k1])
    after = rules(
        k1,
        version="r-2026-11-23-02",
        issued_at=T0 + timedelta(hours=3),
        announce=[k1],
        hot_list=blocked,
    )
    async with lane_at(config) as app:
        ledger.rules = before
        await app.refresh.sync_rules()
        ledger.rules = after
        await app.refresh.sync_rules()
        ledger.rules = before  # the body the ledger signed this morning, replayed
        with pytest.raises(DocumentRefused) as caught:
            await app.refresh.sync_rules()
        assert caught.value.code == "rollback"
        assert app.rules.current().hot_list == blocked  # type: ignore[union-attr]

    # After a restart too, and even when the cached rule set was lost.
    async with lane_at(config) as app:
        with pytest.raises(DocumentRefused) as caught:
            await app.refresh.sync_rules()
        assert caught.value.code == "rollback"
        assert app.rules.current().hot_list == blocked  # type: ignore[union-attr]
        with app.store._db.write() as conn:  # the cached copy is gone
            conn.execute("DELETE FROM rules")
    async with lane_at(config) as app:
        assert app.rules.current() is None
        with pytest.raises(DocumentRefused) as caught:
            await app.refresh.sync_rules()
        assert caught.value.code == "rollback"
        ledger.rules = after  # the same rule set again is fine
        assert (await app.refresh.sync_rules()).version == "r-2026-11-23-02"


async def test_a_replayed_older_catalog_is_refused(ledger: ReplayLedger, tmp_path: Path) -> None:
    k1 = Key("k1")
    config = lane_config_file(tmp_path, url=ledger.url, trusted=[k1])
    ledger.rules = rules(k1, version="r-1", issued_at=T0, announce=[k1], catalog_version="c-000001")
    old = catalog(k1, version="c-000001", count=10)
    async with lane_at(config) as app:
        await app.refresh.sync_rules()
        ledger.catalog = catalog(k1, version="c-000002", count=12)
        assert (await app.refresh.sync_catalog()).version == "c-000002"
        ledger.catalog = old
        with pytest.raises(DocumentRefused) as caught:
            await app.refresh.sync_catalog()
        assert caught.value.code == "rollback"
        assert app.store.catalog_state()[0::2] == ("c-000002", 12)

    # Older than the version the rule set in force names: refused on a lane holding none.
    ledger.rules = rules(
        k1,
        version="r-2",
        issued_at=T0 + timedelta(hours=1),
        announce=[k1],
        catalog_version="c-000009",
    )
    async with lane_at(lane_config_file(tmp_path / "second", url=ledger.url, trusted=[k1])) as app:
        await app.refresh.sync_rules()
        with pytest.raises(DocumentRefused) as caught:
            await app.refresh.sync_catalog()
        assert caught.value.code == "rollback"


async def test_a_catalog_dropping_almost_half_is_taken_with_a_warning(
    ledger: ReplayLedger, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    k1 = Key("k1")
    config = lane_config_file(tmp_path, url=ledger.url, trusted=[k1])
    ledger.rules = rules(k1, version="r-1", issued_at=T0, announce=[k1])
    async with lane_at(config) as app:
        await app.refresh.sync_rules()
        ledger.catalog = catalog(k1, version="c-000001", count=100)
        first = await app.refresh.sync_catalog()
        assert first.total == 100 and first.warning is None
        ledger.catalog = catalog(k1, version="c-000002", count=80)  # 20 %: no warning
        assert (await app.refresh.sync_catalog()).warning is None
        assert refresh.last_catalog_warning(app.store) is None
        ledger.catalog = catalog(k1, version="c-000003", count=41)  # 39 of 80 dropped: 48 %
        with caplog.at_level(logging.WARNING, logger="pos_client.services.refresh"):
            result = await app.refresh.sync_catalog()
        assert result.total == 41  # taken, as before
        warning = result.warning
        assert warning is not None and (warning.dropped, warning.before) == (39, 80)
        assert "39 of 80 products (48 %)" in warning.message
        assert warning.message in caplog.text
        assert refresh.last_catalog_warning(app.store) == warning  # where doctor reads it

    # `rules sync` prints it (the recorded warning is replaced by the newest one).
    ledger.catalog = catalog(k1, version="c-000004", count=25)  # 16 of 41 dropped: 39 %
    done = subprocess.run(
        [sys.executable, "-m", "pos_client.cli", "rules", "sync", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "dropped 16 of 41 products (39 %)" in done.stdout + done.stderr
    async with lane_at(config) as app:
        recorded = refresh.last_catalog_warning(app.store)
        assert recorded is not None and recorded.version == "c-000004"
