"""A lane knows it had a store: a missing, empty, other or older store is refused, never made anew.

Real files throughout: the store deleted, cut to 0 bytes, its folder gone
(a data disk not mounted), another lane's store or an older copy put in its
place, its WAL deleted under a running lane; and the first start of a new lane,
and of a lane upgraded from a version without identity files, which need no flag.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from pos_client.adapters.sqlite import SqliteStore, StoreRefused, open_lane_store
from pos_client.adapters.sqlite.identity import identity_path
from pos_client.errors import StoreError
from pos_client.ports import NewRedemption
from pos_client.sandbox.server import RunningSandbox
from pos_client.tui.i18n import Texts
from tests.support.lane import MILK_1L, lane, lane_config, national_id

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def sale(rid: str) -> NewRedemption:
    return NewRedemption(
        id=rid,
        created_at=NOW,
        business_date=date(2026, 11, 25),
        identity_kind="token",
        mode="online",
        body=b'{"id":"%s"}' % rid.encode(),
        basket="{}",
        total_rial=1000,
        covered_rial=1000,
        payable_rial=0,
        token_jti=f"jti-{rid}",
    )


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    path = tmp_path / "etc" / "lane.toml"
    path.parent.mkdir()
    return path


def _open(store: Path, config: Path, **options: object) -> SqliteStore:
    return open_lane_store(store, config_path=config, lang="en", **options)  # type: ignore[arg-type]


def _lane_with_sales(store: Path, config: Path, count: int = 3) -> str:
    with _open(store, config) as s:
        for n in range(count):
            s.record_new_redemption(sale(f"r{n}"), at=NOW)
        store_id = s.store_id
    assert store_id
    return store_id


def test_a_new_lane_starts_without_a_flag_and_keeps_its_store_id(
    tmp_path: Path, config_path: Path
) -> None:
    store = tmp_path / "data" / "lane.sqlite"
    store_id = _lane_with_sales(store, config_path)
    file = identity_path(store, config_path)
    assert file.parent == config_path.parent
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    kept = json.loads(file.read_text())
    assert kept["store_id"] == store_id and kept["last_seq"] == 3  # brought up to date on close
    with _open(store, config_path) as s:  # the same store: opened as ever
        assert [e.id for e in s.journal()] == ["r0", "r1", "r2"]


@pytest.mark.parametrize("damage", ["deleted", "empty", "folder_gone"])
def test_a_lane_whose_store_is_gone_is_refused_and_nothing_is_made(
    tmp_path: Path, config_path: Path, damage: str
) -> None:
    store = tmp_path / "data" / "lane.sqlite"
    _lane_with_sales(store, config_path)
    if damage == "deleted":
        store.unlink()
    elif damage == "empty":
        store.write_bytes(b"")
    else:
        shutil.rmtree(store.parent)  # the data disk is not mounted
    with pytest.raises(StoreRefused) as refused:
        _open(store, config_path)
    assert "--new-store" in refused.value.message
    expected = {"deleted": "missing", "empty": "empty", "folder_gone": "no_folder"}[damage]
    assert refused.value.reason == expected
    if damage == "folder_gone":
        assert "mounted" in refused.value.message and not store.parent.exists()
    else:
        assert not store.exists() or store.stat().st_size == 0  # nothing was made
    # Told so, the lane starts a new store and records it.
    with _open(store, config_path, new_store=True) as s:
        assert list(s.journal()) == []
        new_id = s.store_id
    assert json.loads(identity_path(store, config_path).read_text())["store_id"] == new_id
    with _open(store, config_path) as s:
        assert s.store_id == new_id


def test_another_lanes_store_put_in_its_place_is_refused(tmp_path: Path, config_path: Path) -> None:
    store = tmp_path / "data" / "lane.sqlite"
    _lane_with_sales(store, config_path)
    other_config = tmp_path / "other" / "lane.toml"
    other_config.parent.mkdir()
    other = tmp_path / "other" / "lane.sqlite"
    _lane_with_sales(other, other_config, count=5)
    shutil.copyfile(other, store)
    with pytest.raises(StoreRefused) as refused:
        _open(store, config_path)
    assert refused.value.reason == "other"
    with _open(store, config_path, new_store=True) as s:  # the shopkeeper says it is theirs
        assert len(list(s.journal())) == 5


def test_an_older_copy_of_the_lanes_own_store_is_refused(tmp_path: Path, config_path: Path) -> None:
    store = tmp_path / "data" / "lane.sqlite"
    _lane_with_sales(store, config_path, count=2)
    backup = tmp_path / "backup.sqlite"
    shutil.copyfile(store, backup)
    with _open(store, config_path) as s:
        s.record_new_redemption(sale("later"), at=NOW)  # a sale the copy does not have
    shutil.copyfile(backup, store)
    with pytest.raises(StoreRefused) as refused:
        _open(store, config_path)
    assert refused.value.reason == "older"
    assert "2" in refused.value.message and "3" in refused.value.message


def test_a_lane_upgraded_from_a_version_without_identity_files_adopts_its_store(
    tmp_path: Path, config_path: Path
) -> None:
    store = tmp_path / "data" / "lane.sqlite"
    with SqliteStore.open(store) as s:  # as the lane's earlier version left it
        s.record_new_redemption(sale("r0"), at=NOW)
    file = identity_path(store, config_path)
    assert not file.exists()
    with _open(store, config_path) as s:
        assert [e.id for e in s.journal()] == ["r0"]
        store_id = s.store_id
    assert json.loads(file.read_text())["store_id"] == store_id
    store.unlink()
    with pytest.raises(StoreRefused):  # from now on it knows it had one
        _open(store, config_path)


def test_the_refusal_is_said_in_the_lanes_language(tmp_path: Path, config_path: Path) -> None:
    store = tmp_path / "data" / "lane.sqlite"
    _lane_with_sales(store, config_path)
    store.unlink()
    with pytest.raises(StoreRefused) as refused:
        open_lane_store(store, config_path=config_path, lang="fa")
    assert "پایانه" in refused.value.message and "--new-store" in refused.value.message


def test_a_read_only_open_is_refused_too_and_writes_nothing(
    tmp_path: Path, config_path: Path
) -> None:
    store = tmp_path / "data" / "lane.sqlite"
    with pytest.raises(StoreError):
        _open(store, config_path, read_only=True)  # nothing there, nothing known: no store
    assert not identity_path(store, config_path).exists()
    _lane_with_sales(store, config_path)
    store.write_bytes(b"")
    with pytest.raises(StoreRefused):
        _open(store, config_path, read_only=True)


def test_a_wal_deleted_under_a_running_store_stops_every_write(
    tmp_path: Path, config_path: Path
) -> None:
    store = tmp_path / "data" / "lane.sqlite"
    s = _open(store, config_path)
    try:
        s.record_new_redemption(sale("r0"), at=NOW)
        Path(f"{store}-wal").unlink()
        assert not s.checkpoint()  # the idle checkpoint notices it
        assert s.lost is not None
        with pytest.raises(StoreError) as lost:
            s.record_new_redemption(sale("r1"), at=NOW)
        assert lost.value.code == "store_lost" and "selling has stopped" in lost.value.message
        with pytest.raises(StoreError):
            s.set_meta("k", "v")
    finally:
        s.close()


async def test_a_lane_whose_wal_was_deleted_refuses_the_next_sale_with_a_sentence(
    sandbox: RunningSandbox,
) -> None:
    nid = national_id(sandbox, "kalabarg")
    async with lane(sandbox) as app:
        first = app.checkout.new_session()
        await first.identify_token(sandbox.mint_token(nid))
        first.scan(MILK_1L)
        assert (await first.confirm()).status == "approved"
        Path(f"{app.store.path}-wal").unlink()
        app.store.checkpoint()  # what the lane runs when idle
        session = app.checkout.new_session()
        await session.identify_token(sandbox.mint_token(nid))
        session.scan(MILK_1L)
        with pytest.raises(StoreError) as refused:
            await session.confirm()
        assert refused.value.code == "store_lost"
    for lang in ("fa", "en"):
        sentence = Texts(lang=lang).error(refused.value)  # type: ignore[arg-type]
        assert sentence == Texts(lang=lang).t("error.store_lost")  # type: ignore[arg-type]
        assert sentence != Texts(lang=lang).t("error.store_error")  # type: ignore[arg-type]


@pytest.mark.parametrize("damage", ["deleted", "damaged"])
def test_pos_client_run_on_a_lost_or_damaged_store_says_so_before_any_screen(
    sandbox: RunningSandbox, damage: str
) -> None:
    config = lane_config(sandbox)
    assert config.source is not None
    with open_lane_store(config.store.path, config_path=config.source) as s:
        s.record_new_redemption(sale("r0"), at=NOW)
    store = Path(config.store.path)
    if damage == "deleted":
        store.unlink()
    else:
        store.write_bytes(b"not a store, whatever it once was" * 200)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, "-m", "pos_client.cli", "run", "--config", str(config.source)],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        env=env,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.strip().splitlines()  # one sentence, never a screen with "0 pending"
    assert line.startswith("pos-client: ")
    if damage == "deleted":
        assert "--new-store" in line and "پایانه" in line  # in the lane's language
        assert not store.exists()
    else:
        assert "damaged" in line
