"""Enrolling lanes against the sandbox as a real server, then selling with them.

Store codes run the command line as real processes, as an installer does. The
device flow runs in-process so that the lane's waiting can move the sandbox's
clock instead of the test waiting out the ledger's interval: the lane's sleep
is replaced by one that advances the sandbox clock by as much, and (the first
time) has the back office approve, deny or ignore the code the lane showed.
"""

from __future__ import annotations

import re
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from pos_client import cli as cli_main
from pos_client.sandbox.server import RunningSandbox
from pos_client.services import enrolment
from tests.support.cli import basket, cli, run_json
from tests.support.lane import MILK_1L, national_id

USER_CODE = re.compile(r"\b[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}\b")


def _admin_env(sandbox: RunningSandbox, merchant_id: str = "M-0001") -> dict[str, str]:
    return {"POS_CLIENT_ADMIN_TOKEN": sandbox.admin_token(merchant_id)}


def _secrets(sandbox: RunningSandbox) -> list[str]:
    return [a["token"] for a in sandbox.info["merchant_admins"]] + [
        t["token"] for t in sandbox.info["terminals"]
    ]


def _no_secrets(sandbox: RunningSandbox, *texts: str) -> None:
    for text in texts:
        assert "tok_" not in text and "adm_" not in text
        for secret in _secrets(sandbox):
            assert secret not in text


def _sell(sandbox: RunningSandbox, config: Path, tmp_path: Path) -> None:
    token = sandbox.mint_token(national_id(sandbox, "kalabarg"))
    result = cli(
        "redeem",
        "--config",
        str(config),
        "--token",
        token,
        "--json",
        "--basket",
        basket(tmp_path, {"barcode": MILK_1L, "unit_price_rial": 420_000}),
    )
    assert result.returncode == 0, result.stderr
    assert run_json(result)["status"] == "approved"


def _codes(sandbox: RunningSandbox, *args: str) -> list[str]:
    result = cli("fleet", "codes", "--ledger", sandbox.url, *args, env=_admin_env(sandbox))
    assert result.returncode == 0, result.stderr
    _no_secrets(sandbox, result.stdout, result.stderr)
    return result.stdout.split()


def test_a_store_code_enrols_a_lane_that_then_sells(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    (code,) = _codes(sandbox, "--store", "S-001", "--count", "1", "--ttl", "24h")
    config = tmp_path / "lane" / "lane.toml"
    result = cli("enrol", "--ledger", sandbox.url, "--config", str(config), "--code", code)
    assert result.returncode == 0, result.stderr
    assert "Enrolled as terminal T-" in result.stdout and "store S-001" in result.stdout
    assert "pos-client run --config" in result.stdout
    _no_secrets(sandbox, result.stdout, result.stderr)
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    text = config.read_text(encoding="utf-8")
    assert 'city = "rasht"' in text and "token = " in text
    # the token in the file is the lane's own, printed nowhere
    token = re.search(r'token = "([^"]+)"', text)
    assert token is not None and token.group(1) not in result.stdout + result.stderr
    _sell(sandbox, config, tmp_path)

    # a used code never works again, and writes nothing
    again = tmp_path / "again" / "lane.toml"
    reused = cli("enrol", "--ledger", sandbox.url, "--config", str(again), "--code", code)
    assert reused.returncode == 1
    assert "wrong, already used or expired" in reused.stderr
    assert not again.exists() and not again.parent.exists()


def test_forty_codes_enrol_forty_lanes_and_the_forty_first_use_fails(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    codes = _codes(sandbox, "--store", "S-002", "--count", "40", "--ttl", "2h")
    assert len(set(codes)) == 40
    terminals = set()
    for n, code in enumerate(codes):
        result = cli_main.main(
            [
                "enrol",
                "--ledger",
                sandbox.url,
                "--config",
                str(tmp_path / f"l{n}.toml"),
                "--code",
                code,
                "--json",
            ]
        )
        assert result == 0
    for n in range(40):
        text = (tmp_path / f"l{n}.toml").read_text(encoding="utf-8")
        found = re.search(r'id = "(T-[0-9]+)"', text)
        assert found is not None
        terminals.add(found.group(1))
    assert len(terminals) == 40
    forty_first = tmp_path / "l40.toml"
    result = cli("enrol", "--ledger", sandbox.url, "--config", str(forty_first), "--code", codes[0])
    assert result.returncode == 1 and not forty_first.exists()


def _device_flow(
    sandbox: RunningSandbox,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    decide: Callable[[str], None],
    *,
    early: bool = False,
) -> list[float]:
    """Replace the lane's sleep: the clock moves as much (with ``early``, the first time it
    goes back half a minute instead, so that the first poll comes too soon however long the
    decision took), and the first sleep decides."""
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        if not slept:
            out = capsys.readouterr().out
            print(out, end="")  # keep what the lane said for the test to read
            code = USER_CODE.search(out)
            assert code is not None, out
            decide(code.group(0))
        sandbox.advance_clock(-30 if early and not slept else int(seconds))
        slept.append(seconds)

    monkeypatch.setattr(enrolment, "_sleep", sleep)
    return slept


def test_device_flow_approved_from_the_back_office_then_sells(
    sandbox: RunningSandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def approve(code: str) -> None:
        monkeypatch.setenv("POS_CLIENT_ADMIN_TOKEN", sandbox.admin_token("M-0001"))
        # another merchant's store: not found, nothing changes
        assert (
            cli_main.main(["fleet", "approve", code, "--store", "S-101", "--ledger", sandbox.url])
            == 1
        )
        assert (
            cli_main.main(["fleet", "approve", code, "--store", "S-002", "--ledger", sandbox.url])
            == 0
        )

    # the first poll comes too soon: slow_down
    slept = _device_flow(sandbox, monkeypatch, capsys, approve, early=True)
    config = tmp_path / "lane.toml"
    code = cli_main.main(["enrol", "--ledger", sandbox.url, "--config", str(config)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert USER_CODE.search(out) and "█" in out  # the code as text and as a QR code
    assert "Enrolled as terminal" in out and "store S-002" in out
    assert "not this merchant's" in err
    assert slept[0] == 5 and slept[1] == 10  # slow_down: 5 s more, for good
    _no_secrets(sandbox, out, err)
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    _sell(sandbox, config, tmp_path)


def test_device_flow_denied_or_expired_ends_in_one_sentence_and_writes_nothing(
    sandbox: RunningSandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def deny(code: str) -> None:
        monkeypatch.setenv("POS_CLIENT_ADMIN_TOKEN", sandbox.admin_token("M-0001"))
        assert cli_main.main(["fleet", "deny", code, "--ledger", sandbox.url]) == 0

    _device_flow(sandbox, monkeypatch, capsys, deny)
    lanes = tmp_path / "lanes"
    config = lanes / "denied.toml"
    assert cli_main.main(["enrol", "--ledger", sandbox.url, "--config", str(config)]) == 4
    err = capsys.readouterr().err
    assert "denied" in err and not lanes.exists()

    _device_flow(sandbox, monkeypatch, capsys, lambda code: None)
    config = lanes / "expired.toml"
    assert cli_main.main(["enrol", "--ledger", sandbox.url, "--config", str(config)]) == 5
    err = capsys.readouterr().err
    assert "expired" in err and not lanes.exists()


def test_bad_input_is_one_sentence_and_changes_nothing(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    config = tmp_path / "lane.toml"
    for code in ("BBBB-BBBB", "hello"):
        result = cli("enrol", "--ledger", sandbox.url, "--config", str(config), "--code", code)
        assert result.returncode in (1, 2) and "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    assert not config.exists()

    # an existing config is never replaced
    config.write_text("keep me", encoding="utf-8")
    (code,) = _codes(sandbox, "--store", "S-001")
    result = cli("enrol", "--ledger", sandbox.url, "--config", str(config), "--code", code)
    assert result.returncode == 2 and "already exists" in result.stderr
    assert config.read_text(encoding="utf-8") == "keep me"

    # a terminal token as admin token; another merchant's store; no token at all
    lane_token = sandbox.terminal("T-0001")["token"]
    as_lane = cli(
        "fleet",
        "codes",
        "--store",
        "S-001",
        "--ledger",
        sandbox.url,
        env={"POS_CLIENT_ADMIN_TOKEN": lane_token},
    )
    assert as_lane.returncode == 1 and "admin token is needed" in as_lane.stderr
    foreign = cli(
        "fleet", "codes", "--store", "S-101", "--ledger", sandbox.url, env=_admin_env(sandbox)
    )
    assert foreign.returncode == 1 and "No such store" in foreign.stderr
    none = cli(
        "fleet",
        "codes",
        "--store",
        "S-001",
        "--ledger",
        sandbox.url,
        env={"POS_CLIENT_ADMIN_TOKEN": ""},
    )
    assert none.returncode == 2 and "POS_CLIENT_ADMIN_TOKEN" in none.stderr
    too_many = cli(
        "fleet",
        "codes",
        "--store",
        "S-001",
        "--count",
        "501",
        "--ledger",
        sandbox.url,
        env=_admin_env(sandbox),
    )
    assert too_many.returncode == 2
    for result in (as_lane, foreign, none, too_many):
        _no_secrets(sandbox, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
