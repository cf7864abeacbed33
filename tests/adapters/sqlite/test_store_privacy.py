"""No identity kept for good: scrubbed bodies once final, household hashes keyed per lane.

The store's own bytes are read (the SQLite file and its WAL), as anyone who
copies a lane's disk would: no national ID, QR token, verification code or
bare SHA-256 of an ID is left once the sales are final, and a row still in the
outbox keeps its body byte for byte. A schema-3 store made by the code before
schema 4 (``tests/support/store_v3.sql``, dumped from a store that code wrote) is brought up
to date the same way.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from pos_client.adapters.store import CHECKPOINT_AFTER_COMMITS, SCHEMA_VERSION, SqliteStore
from pos_client.domain.national_id import national_id_check_digit, national_id_hash
from pos_client.domain.privacy import REMOVED, household_key, scrub_identity
from pos_client.domain.redemption import RedemptionAnswer
from pos_client.domain.states import RedemptionStatus as S
from pos_client.ports import NewRedemption
from pos_client.sandbox.server import RunningSandbox
from pos_client.services.redemptions import business_date
from tests.support.lane import MILK_1L, SUGAR, lane, lane_config, national_id

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
DAY = date(2026, 11, 25)


def valid_nid(first_nine: str) -> str:
    return first_nine + str(national_id_check_digit(first_nine))


NID_A = valid_nid("003456789")  # a sale that went through
NID_B = valid_nid("004567891")  # a sale still owed to the ledger
TOKEN = "eyJhbGciOiJFZERTQSJ9.eyJqdGkiOiJqLTEifQ.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"
OTPS = {"done": "482913", "tok": "550217", "owed": "771100"}  # codes read from phones


def body(rid: str, nid: str, *, token: bool = False) -> bytes:
    beneficiary = {"token": TOKEN} if token else {"national_id": nid}
    document = {
        "id": rid,
        "terminal_id": "T-0001",
        "mode": "online",
        "beneficiary": beneficiary,
        "otp": {"challenge_id": "c-1", "code": OTPS[rid]},
        "lines": [{"gtin": "6260000000017", "quantity_milli": 1000}],
    }
    return json.dumps(document, separators=(",", ":")).encode()


def sale(rid: str, nid: str, nid_hash: str, *, token: bool = False) -> NewRedemption:
    return NewRedemption(
        id=rid,
        created_at=NOW,
        business_date=DAY,
        identity_kind="token" if token else "national_id",
        mode="online",
        body=body(rid, nid, token=token),
        basket="{}",
        total_rial=1000,
        covered_rial=1000,
        payable_rial=0,
        nid_hash=nid_hash,
        nid_masked=nid[:3] + "*****" + nid[-2:],
        token_jti=f"jti-{rid}" if token else None,
    )


def file_bytes(path: Path) -> bytes:
    """The store's file and its WAL, as a copy of the disk would have them."""
    wal = Path(f"{path}-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def identities(nid: str) -> list[bytes]:
    """What names the household of ``nid`` in the final sales "done" and "tok"."""
    codes = [OTPS["done"].encode(), OTPS["tok"].encode()]
    return [nid.encode(), national_id_hash(nid).encode(), TOKEN.encode(), *codes]


def test_scrubbing_keeps_everything_but_the_identity() -> None:
    scrubbed = json.loads(scrub_identity(body("done", NID_A)))
    assert scrubbed["beneficiary"] == {"national_id": REMOVED}
    assert scrubbed["otp"] == {"challenge_id": "c-1", "code": REMOVED}
    assert (
        scrubbed["id"] == "done" and scrubbed["lines"] == json.loads(body("done", NID_A))["lines"]
    )
    assert scrub_identity(b"not json") == b"not json"


def test_a_household_key_is_keyed_per_lane_and_never_the_bare_hash() -> None:
    one, two = b"1" * 32, b"2" * 32
    assert household_key(NID_A, one) == household_key(NID_A, one)
    assert household_key(NID_A, one) != household_key(NID_A, two)
    assert household_key(NID_A, one) != national_id_hash(NID_A)


def test_once_sales_are_final_the_store_and_its_wal_hold_no_identity(tmp_path: Path) -> None:
    path = tmp_path / "lane.sqlite"
    store = SqliteStore.open(path)
    try:
        key_a = store.household_key(NID_A)
        key_b = store.household_key(NID_B)
        assert key_a and key_b and key_a != national_id_hash(NID_A)
        store.record_new_redemption(sale("done", NID_A, key_a), at=NOW)
        store.record_new_redemption(sale("tok", NID_A, key_a, token=True), at=NOW)
        owed = sale("owed", NID_B, key_b)
        store.record_new_redemption(owed, at=NOW)
        store.approve_offline(
            "owed",
            at=NOW,
            body=None,
            nid_hash=key_b,
            by_program={"kalabarg": 1000},
            business_date=DAY,
        )
        for rid in ("done", "tok"):
            store.set_status(
                rid,
                S.APPROVED,
                at=NOW,
                leave_outbox=True,
                answer=RedemptionAnswer(id=rid, status="approved", covered_rial=1000),
            )
        # The row still owed to the ledger keeps its body byte for byte (resent as it was).
        assert store.redemption("owed").body == owed.body  # type: ignore[union-attr]
        assert [i.body for i in store.outbox()] == [owed.body]
        assert json.loads(store.redemption("done").body)["beneficiary"] == {  # type: ignore[union-attr]
            "national_id": REMOVED
        }
        for n in range(CHECKPOINT_AFTER_COMMITS):
            store.set_meta(f"busy.{n}", "x")
        assert store.checkpoint()  # the lane is idle: the WAL's old pages go too
        data = file_bytes(path)
        for secret in identities(NID_A):
            assert secret not in data
        assert national_id_hash(NID_B).encode() not in data
        assert store.offline_totals(business_date=DAY, nid_hash=key_b) == {"kalabarg": 1000}
    finally:
        store.close()


async def test_after_forwarding_the_lane_keeps_no_id_or_token_and_still_counts_offline_totals(
    sandbox: RunningSandbox,
) -> None:
    nid = national_id(sandbox, "kalabarg")
    config = lane_config(sandbox, max_rial_per_beneficiary_per_day=1_000_000)
    tokens = [sandbox.mint_token(nid) for _ in range(4)]
    async with lane(sandbox, config=config) as app:
        online = app.checkout.new_session()
        await online.identify_token(tokens[0])  # online: the wallet is saved for offline use
        online.scan(SUGAR)
        assert (await online.confirm()).status == "approved"
        sandbox.add_fault("rate_limit", "/v1/*", count=None, retry_after=30)
        first = app.checkout.new_session()
        assert (await first.identify_token(tokens[1])).offline
        first.scan(MILK_1L, quantity_milli=2000)
        assert (await first.confirm()).status == "approved_offline"
        key = app.store.household_key(nid)
        assert key is not None
        today = app.store.offline_totals(business_date=business_date(app.clock.now()), nid_hash=key)
        assert sum(today.values()) == 840_000
        second = app.checkout.new_session()  # the same household, offline again
        assert (await second.identify_token(tokens[2])).offline
        second.scan(MILK_1L)
        refused = await second.confirm()
        assert refused.status == "refused_offline" and refused.reason == "over_daily_limit"
        sandbox.clear_faults()
        report = await app.forwarder.sync(until_empty=True, timeout=30)
        assert report.remaining == 0 and report.approved == 1
        path = app.store.path
    data = file_bytes(path)  # the lane closed: what stays on its disk
    assert nid.encode() not in data
    assert national_id_hash(nid).encode() not in data
    for token in tokens[:3]:
        assert token.encode() not in data


def _schema_three_store(path: Path) -> None:
    """A lane store as the code before schema 4 made it: bare hashes, identities in bodies.

    ``tests/support/store_v3.sql`` was dumped from a store that code wrote: two sales
    (``done`` answered, ``owed`` approved offline for NID_B) and NID_A's cached wallet.
    """
    dump = (Path(__file__).parents[2] / "support" / "store_v3.sql").read_text("utf-8")
    connection = sqlite3.connect(path)
    try:
        connection.executescript(dump)
        connection.execute("PRAGMA journal_mode=WAL")
    finally:
        connection.close()
    path.chmod(0o600)


def test_a_schema_3_store_is_scrubbed_and_rekeyed_with_nothing_lost(tmp_path: Path) -> None:
    path = tmp_path / "lane.sqlite"
    _schema_three_store(path)
    assert NID_A.encode() in file_bytes(path)  # as it was
    owed_body = body("owed", NID_B)
    with SqliteStore.open(path) as store:
        key_a, key_b = store.household_key(NID_A), store.household_key(NID_B)
        assert key_a and key_b
        # Re-keyed from the bare hash: every household's totals and wallet still found.
        assert store.offline_totals(business_date=DAY, nid_hash=key_b) == {"kalabarg": 1000}
        assert store.cached_wallet(key_a) == ('{"wallet":"a"}', NOW)
        assert store.redemption("owed").nid_hash == key_b  # type: ignore[union-attr]
        # Final rows lost their identity; the row owed to the ledger kept its exact bytes.
        assert store.redemption("owed").body == owed_body  # type: ignore[union-attr]
        done = json.loads(store.redemption("done").body)  # type: ignore[union-attr]
        assert done["beneficiary"] == {"national_id": REMOVED} and done["otp"]["code"] == REMOVED
        data = file_bytes(path)
        assert NID_A.encode() not in data
        assert national_id_hash(NID_A).encode() not in data
        assert national_id_hash(NID_B).encode() not in data
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


def test_two_lanes_key_the_same_household_differently(tmp_path: Path) -> None:
    with SqliteStore.open(tmp_path / "a.sqlite") as a, SqliteStore.open(tmp_path / "b.sqlite") as b:
        assert a.household_key(NID_A) != b.household_key(NID_A)
        assert a.household_key(NID_A) == a.household_key(NID_A)


def test_a_long_body_leaves_no_identity_in_the_pages_it_freed(tmp_path: Path) -> None:
    """A body longer than a page spills into overflow pages; scrubbed, those are freed, zeroed."""
    path = tmp_path / "lane.sqlite"
    with SqliteStore.open(path) as store:
        key = store.household_key(NID_A)
        assert key
        # The identity after 200 lines: deep in the body's overflow pages.
        lines = [{"gtin": f"62600000{n:05d}", "quantity_milli": 1000} for n in range(200)]
        otp = {"challenge_id": "c-1", "code": OTPS["done"]}
        long = {"id": "done", "lines": lines, "beneficiary": {"national_id": NID_A}, "otp": otp}
        raw = json.dumps(long, separators=(",", ":")).encode()
        assert len(raw) > 2 * 4096
        store.record_new_redemption(
            NewRedemption(
                id="done",
                created_at=NOW,
                business_date=DAY,
                identity_kind="national_id",
                mode="online",
                body=raw,
                basket="{}",
                total_rial=1000,
                covered_rial=1000,
                payable_rial=0,
                nid_hash=key,
            ),
            at=NOW,
        )
        store.set_status(
            "done",
            S.APPROVED,
            at=NOW,
            leave_outbox=True,
            answer=RedemptionAnswer(id="done", status="approved", covered_rial=1000),
        )
    data = file_bytes(path)  # closed: the WAL was copied into the file
    assert NID_A.encode() not in data


@pytest.mark.parametrize("kind", ["national_id", "token", "purchase_code"])
@pytest.mark.parametrize("with_otp", [True, False])
def test_a_body_as_the_lane_writes_it_is_scrubbed_as_its_json_would_be(
    kind: str, with_otp: bool
) -> None:
    """Bytes replaced in place in the lane's own bodies: the document reading it would give."""
    from pos_client.domain.privacy import _scrub_document

    value = {"national_id": NID_A, "token": TOKEN, "purchase_code": "12345678"}[kind]
    document = json.loads(body("done", NID_A))
    document["beneficiary"] = {kind: value}
    if not with_otp:
        del document["otp"]
    document["name"] = "برنج ۵ کیلویی"  # text that a reader would write out otherwise
    raw = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
    scrubbed = scrub_identity(raw)
    assert json.loads(scrubbed) == json.loads(_scrub_document(raw))
    assert value.encode() not in scrubbed and OTPS["done"].encode() not in scrubbed
    assert len(raw) - len(scrubbed) == len(value) - len(REMOVED) + (
        len(OTPS["done"]) - len(REMOVED) if with_otp else 0
    )
    escaped = raw.replace(value.encode(), value[:3].encode() + b"\\u0030" + value[4:].encode())
    assert value[:3].encode() + b"\\u0030" not in scrub_identity(escaped)  # read, not matched
