"""Shared fixtures.

``sandbox``: a real sandbox ledger (uvicorn on a free 127.0.0.1 port, its DATA in
a fresh temporary directory), started for the test and stopped after it. It is
a :class:`pos_client.sandbox.server.RunningSandbox`: ``.url``, ``.data_dir``,
``.info`` (the parsed ``sandbox.json``: terminals, households, public key),
``.config_path(terminal_id)`` (the generated lane TOML), ``.client(terminal_id)``
(an authenticated httpx client) and helpers for the ``/sandbox/`` endpoints
(``mint_token``, ``mint_purchase_code``, ``otp_code``, ``add_fault``,
``clear_faults``, ``advance_clock``, ``set_blocked``, ``revise_catalog``).

``mqtt_broker``: a real Mosquitto broker on a free loopback port (see below).

Each test gets its own books: a copy of a DATA directory made once per session
(same key, terminals and households; the demo dates are those of the session).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from pos_client.sandbox.broker import RunningBroker, start_broker
from pos_client.sandbox.server import RunningSandbox, build_sandbox, start_sandbox


@pytest.fixture(scope="session")
def sandbox_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A sandbox DATA directory after its first start (books, key, catalog), not running."""
    data_dir = tmp_path_factory.mktemp("sandbox-template") / "data"
    build_sandbox(data_dir).close()
    return data_dir


@pytest.fixture
def sandbox(tmp_path: Path, sandbox_template: Path) -> Iterator[RunningSandbox]:
    data_dir = tmp_path / "sandbox"
    shutil.copytree(sandbox_template, data_dir)
    with start_sandbox(data_dir) as running:
        yield running


@pytest.fixture
def mqtt_broker(tmp_path: Path) -> Iterator[RunningBroker]:
    """A real Mosquitto on a free loopback port, with a password file and the contract's ACL.

    Accounts: lanes ``T-0001``..``T-0003`` (password ``lane-<id>``) and the reader
    ``fleet`` (password ``fleet-pass``); add more with ``add_accounts``."""
    lanes = {f"T-000{n}": f"lane-T-000{n}" for n in (1, 2, 3)}
    with start_broker(tmp_path / "broker", lanes=lanes, readers={"fleet": "fleet-pass"}) as broker:
        yield broker
