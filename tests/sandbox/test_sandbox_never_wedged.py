"""Never wedged: whatever the clock does and whatever fails inside, the next request is served."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from pos_client.sandbox.books import Books
from pos_client.sandbox.datadir import DB_FILE
from pos_client.sandbox.server import RunningSandbox, start_sandbox
from tests.sandbox.support import post, purses, rules_version, simple_spend


def _served(sb: RunningSandbox, seen: list[str]) -> None:
    """``/v1/rules`` answers a version never seen before it, and a redemption naming it is paid."""
    with sb.client() as client:
        response = client.get("/v1/rules")
        assert response.status_code == 200, response.text
        version = response.json()["version"]
        if version not in seen:
            seen.append(version)
        body = simple_spend(sb, client, amount=100_000)
        assert body["rules_version"] == version
        answer = post(client, body)
        assert answer.status_code == 201, answer.text
        assert answer.json()["status"] == "approved"


def test_the_clock_forward_and_back_then_a_catalog_revision(
    tmp_path: Path, sandbox_template: Path
) -> None:
    data_dir = tmp_path / "sandbox"
    shutil.copytree(sandbox_template, data_dir)
    seen: list[str] = []
    with start_sandbox(data_dir) as sb:
        _served(sb, seen)
        sb.advance_clock(2 * 86_400)  # two days on: a rule set is issued for that day
        _served(sb, seen)
        sb.advance_clock(-2 * 86_400)  # and back: today's numbers are taken already
        _served(sb, seen)
        sb.revise_catalog()  # a new rule set announces the new catalog
        _served(sb, seen)
        sb.set_blocked(sb.household("blocked")["national_id"], False)
        _served(sb, seen)
    with start_sandbox(data_dir) as sb:  # and after a restart
        _served(sb, seen)
        sb.revise_catalog()
        _served(sb, seen)
    with sqlite3.connect(data_dir / DB_FILE) as conn:
        versions = [r[0] for r in conn.execute("SELECT version FROM rule_sets")]
    assert len(versions) == len(set(versions))
    assert set(seen) <= set(versions) and len(seen) >= 5


class _Connection:
    """A books connection whose COMMIT fails when told to, leaving its transaction open.

    That is what SQLite does when a COMMIT cannot get its lock or the disk fails.
    """

    fail_next_commit = False

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, *args: Any) -> Any:
        if sql == "COMMIT" and _Connection.fail_next_commit:
            _Connection.fail_next_commit = False
            raise sqlite3.OperationalError("database is locked")
        return self._conn.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


def test_an_internal_error_is_rolled_back_and_the_next_request_is_served(
    tmp_path: Path, sandbox_template: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    connect = Books._connect
    monkeypatch.setattr(Books, "_connect", lambda self: _Connection(connect(self)))
    data_dir = tmp_path / "sandbox"
    shutil.copytree(sandbox_template, data_dir)
    with start_sandbox(data_dir) as sb, sb.client() as client:
        nid = sb.household("kalabarg")["national_id"]
        before = purses(client, nid)
        body = simple_spend(sb, client, amount=1_000_000)
        _Connection.fail_next_commit = True
        failed = post(client, body)
        assert failed.status_code == 500
        assert failed.json()["code"] == "internal_error"
        assert client.get(f"/v1/redemptions/{body['id']}").status_code == 404  # nothing kept
        assert purses(client, nid) == before
        again = post(client, body)  # the token was not used up: the same sale goes through
        assert again.status_code == 201 and again.json()["status"] == "approved"
        for _ in range(3):  # and every request after it, on every pooled connection
            assert rules_version(client)
            assert post(client, simple_spend(sb, client, amount=10_000)).status_code == 201
