"""``pos-client doctor``: against a running sandbox ledger, real ptys, a dummy printer and files.

The judges are also tested alone (pure functions over facts and "now").
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.scanner import VirtualScannerPort, send_to_lane
from drivers.scanner.virtual import scanner_link
from pos_client.adapters.sqlite import StoreRefused, open_lane_store
from pos_client.adapters.sqlite.identity import identity_path
from pos_client.cli import main
from pos_client.compose import build_app, build_doctor
from pos_client.config import load_config
from pos_client.domain.contract import parse_rule_set
from pos_client.domain.national_id import national_id_check_digit
from pos_client.domain.signing import b64url_encode, public_key_bytes
from pos_client.locale import placeholders, read_catalog
from pos_client.ports import NewRedemption
from pos_client.sandbox.server import RunningSandbox, start_sandbox
from pos_client.services.doctor import (
    Check,
    DeviceOpeners,
    LedgerFacts,
    Report,
    SeenScan,
    StoreFacts,
    Verdict,
    judge_catalog,
    judge_clock,
    judge_rules,
    judge_store,
    mask_scan,
)
from pos_client.services.refresh import CatalogWarning
from tests.support.fakes import QuickClock
from tests.support.replay_ledger import Key, ReplayLedger, catalog, lane_config_file, rules

TERMINAL = "T-0001"
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


# --------------------------------------------------------------------------- helpers


@pytest.fixture(autouse=True)
def runtime_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Virtual scanners and scales are published here, not in the user's runtime folder."""
    path = tmp_path / "rt"
    monkeypatch.setenv("POS_CLIENT_RUNTIME_DIR", str(path))
    return path


def lane_config(sandbox: RunningSandbox, name: str = "lane-doctor.toml", **lines: str) -> Path:
    """A copy of the demo lane's TOML beside it (same store) with some ``key = value`` lines set."""
    text = sandbox.config_path(TERMINAL).read_text(encoding="utf-8")
    for key, value in lines.items():
        text, found = re.subn(rf"^{key} = .*$", f"{key} = {value}", text, count=1, flags=re.M)
        assert found == 1, key
    path = sandbox.data_dir / name
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return path


def doctor(
    capsys: pytest.CaptureFixture[str], config: Path | str, *args: str
) -> tuple[int, dict[str, Any]]:
    """Run ``pos-client doctor --json`` in this process; the exit code and the parsed report."""
    code = main(["doctor", "--config", str(config), "--json", *args])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, json.loads(out)


def doctor_text(
    capsys: pytest.CaptureFixture[str], config: Path | str, *args: str
) -> tuple[int, str]:
    code = main(["doctor", "--config", str(config), *args])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out + err


def sync(capsys: pytest.CaptureFixture[str], config: Path | str) -> None:
    assert main(["rules", "sync", "--config", str(config)]) == 0
    capsys.readouterr()


def by_name(report: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {c["name"]: c for c in report["checks"]}


def token_of(sandbox: RunningSandbox) -> str:
    return str(sandbox.terminal(TERMINAL)["token"])


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def valid_national_id(first_nine: str) -> str:
    return first_nine + str(national_id_check_digit(first_nine))


# --------------------------------------------------------------------------- all well


def test_a_synced_lane_with_every_device_is_all_ok(
    sandbox: RunningSandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    config = lane_config(sandbox, scale='"virtual-scale://meat?weight=1250"')
    sync(capsys, config)
    code, report = doctor(capsys, config, "--lang", "en", "--print-test")

    assert code == 0
    assert report["ok"] is True
    verdicts = {c["name"]: c["verdict"] for c in report["checks"]}
    assert set(verdicts.values()) == {"ok"}, report["checks"]
    assert list(verdicts) == [
        "config",
        "store",
        "ledger",
        "clock",
        "token",
        "rules",
        "catalog",
        f"scanner:virtual://lane-{TERMINAL}",
        "printer:dummy://",
        "scale:virtual-scale://meat",
    ]
    checks = by_name(report)
    assert "1,250 g" in checks["scale:virtual-scale://meat"]["detail"]
    assert "test page was printed" in checks["printer:dummy://"]["detail"]
    assert "products" in checks["catalog"]["detail"]
    assert token_of(sandbox) not in json.dumps(report)


def test_the_report_speaks_the_configs_language_unless_told(
    sandbox: RunningSandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    config = lane_config(sandbox)
    sync(capsys, config)
    code, text = doctor_text(capsys, config)  # ui.language = "fa" in the demo lane
    assert code == 0
    assert "[درست] پرونده تنظیمات" in text
    assert "خطا: ۰" in text
    code, text = doctor_text(capsys, config, "--lang", "en")
    assert code == 0
    assert "[ok] config file" in text
    assert "failed: 0" in text
    assert token_of(sandbox) not in text


def test_json_shape(sandbox: RunningSandbox, capsys: pytest.CaptureFixture[str]) -> None:
    config = lane_config(sandbox, printer='""')
    code, report = doctor(capsys, config)

    assert set(report) == {
        "ok",
        "exit_code",
        "language",
        "config",
        "terminal",
        "summary",
        "checks",
        "scans",
    }
    assert report["exit_code"] == code == 0  # warnings only: no store, rules or printer yet
    assert report["language"] == "fa"
    assert report["config"] == str(config)
    assert report["terminal"] == TERMINAL
    assert report["scans"] == []
    for check in report["checks"]:
        assert set(check) == {"name", "verdict", "detail", "advice"}
        assert all(isinstance(v, str) for v in check.values())
        assert check["verdict"] in ("ok", "warning", "failed")
        assert check["detail"]
        assert bool(check["advice"]) == (check["verdict"] != "ok"), check
    counts = {v: sum(c["verdict"] == v for c in report["checks"]) for v in ("ok", "warning")}
    assert report["summary"] == {**counts, "failed": 0}
    checks = by_name(report)
    assert checks["store"]["verdict"] == "warning"
    assert checks["rules"]["verdict"] == "warning"
    assert checks["printer"]["verdict"] == "warning"
    assert "rules sync" in checks["rules"]["advice"]


# --------------------------------------------------------------------------- the ledger


def test_a_stopped_ledger_fails_with_advice(
    sandbox_template: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "ledger"
    shutil.copytree(sandbox_template, data)
    with start_sandbox(data) as running:
        config = running.config_path(TERMINAL)
        sync(capsys, config)
    # the ledger has stopped; the lane keeps its rules and catalog
    code, report = doctor(capsys, config, "--lang", "en")

    assert code == 1
    checks = by_name(report)
    assert checks["ledger"]["verdict"] == "failed"
    assert "cannot be reached" in checks["ledger"]["detail"]
    assert "network" in checks["ledger"]["advice"]
    assert checks["token"]["verdict"] == "warning"
    assert checks["rules"]["verdict"] == "ok"
    assert "not compared" in checks["rules"]["detail"]
    assert checks["catalog"]["verdict"] == "ok"
    assert "clock" not in checks


def test_a_wrong_ledger_url_fails_in_a_real_process(sandbox: RunningSandbox) -> None:
    config = lane_config(sandbox, url=f'"http://127.0.0.1:{closed_port()}/"')
    result = subprocess.run(
        [sys.executable, "-m", "pos_client.cli", "doctor", "--config", str(config), "--lang", "en"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "Traceback" not in result.stdout + result.stderr
    assert result.returncode == 1, result.stdout + result.stderr
    assert "[failed] central ledger:" in result.stdout
    assert "what to do: Check the network" in result.stdout
    assert token_of(sandbox) not in result.stdout + result.stderr


def test_a_wrong_token_fails_and_is_never_shown(
    sandbox: RunningSandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = "tok_" + "x" * 40
    config = lane_config(sandbox, token=f'"{wrong}"')
    code, report = doctor(capsys, config, "--lang", "en")

    assert code == 1
    checks = by_name(report)
    assert checks["ledger"]["verdict"] == "ok"
    assert checks["token"]["verdict"] == "failed"
    assert "401" in checks["token"]["detail"]
    assert "ledger.token" in checks["token"]["advice"]
    dumped = json.dumps(report)
    assert wrong not in dumped
    assert token_of(sandbox) not in dumped


def test_rules_signed_by_a_key_the_lane_does_not_trust_fail(
    sandbox: RunningSandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    config = lane_config(sandbox)
    text = config.read_text(encoding="utf-8")
    stranger = b64url_encode(public_key_bytes(Ed25519PrivateKey.generate()))
    text, found = re.subn(
        r'^("[^"]+") = "[A-Za-z0-9_-]{43}"$', rf'\1 = "{stranger}"', text, flags=re.M
    )
    assert found == 1
    config.write_text(text, encoding="utf-8")
    code, report = doctor(capsys, config, "--lang", "en")

    assert code == 1
    checks = by_name(report)
    assert checks["token"]["verdict"] == "ok"
    assert checks["rules"]["verdict"] == "failed"
    assert "signature" in checks["rules"]["detail"]
    assert "trusted_keys" in checks["rules"]["advice"]


def test_a_clock_far_from_the_ledgers_fails(
    sandbox: RunningSandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    config = lane_config(sandbox)
    sandbox.advance_clock(3 * 3600)
    code, report = doctor(capsys, config, "--lang", "en")

    assert code == 1
    clock = by_name(report)["clock"]
    assert clock["verdict"] == "failed"
    assert "behind the ledger's" in clock["detail"]
    assert "date and time" in clock["advice"]


# --------------------------------------------------------------------------- the config


@pytest.mark.parametrize("as_json", [True, False])
def test_a_config_missing_a_key_exits_2_naming_it(
    sandbox: RunningSandbox, capsys: pytest.CaptureFixture[str], as_json: bool
) -> None:
    config = lane_config(sandbox, language='"en"')
    config.write_text(
        re.sub(r"^city = .*\n", "", config.read_text(encoding="utf-8"), flags=re.M),
        encoding="utf-8",
    )
    if as_json:
        code, report = doctor(capsys, config)
        assert report["exit_code"] == 2
        assert report["ok"] is False
        assert report["language"] == "en"  # read from the file even though it does not validate
        [check] = report["checks"]
        assert check["name"] == "config"
        assert check["verdict"] == "failed"
        assert "terminal.city" in check["detail"]
        assert "terminal.city" in check["advice"]
    else:
        code, text = doctor_text(capsys, config)
        assert "[failed] config file:" in text
        assert "terminal.city" in text
    assert code == 2


@pytest.mark.parametrize(
    "content", [b"[terminal\nid = 1", b"\xff\xfe not text", None], ids=["toml", "bytes", "none"]
)
def test_an_unreadable_config_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes | None
) -> None:
    config = tmp_path / "lane.toml"
    if content is not None:
        config.write_bytes(content)
    code, report = doctor(capsys, config, "--lang", "en")
    assert code == 2
    [check] = report["checks"]
    assert check["verdict"] == "failed"
    assert check["detail"].startswith("the config cannot be used: config:")
    assert check["advice"]


def test_a_config_others_can_read_is_a_warning(
    sandbox: RunningSandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    config = lane_config(sandbox)
    config.chmod(0o644)
    code, report = doctor(capsys, config, "--lang", "en")
    assert code == 0
    check = by_name(report)["config"]
    assert check["verdict"] == "warning"
    assert f"chmod 600 {config}" in check["advice"]


# --------------------------------------------------------------------------- devices


def test_missing_devices_fail_with_advice(
    sandbox: RunningSandbox, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    gone = tmp_path / "no-such-device"
    config = lane_config(
        sandbox,
        scanners=f'["serial://{gone}-scanner"]',
        printer=f'"serial://{gone}-printer"',
        scale=f'"serial://{gone}-scale"',
    )
    code, report = doctor(capsys, config, "--lang", "en")

    assert code == 1
    checks = by_name(report)
    scanner = checks[f"scanner:serial://{gone}-scanner"]
    assert scanner["verdict"] == "failed"
    assert "not there" in scanner["detail"]
    assert "/dev/serial/by-id/" in scanner["advice"]
    printer = checks[f"printer:serial://{gone}-printer"]
    assert printer["verdict"] == "failed"
    assert "Switch the printer on" in printer["advice"]
    scale = checks[f"scale:serial://{gone}-scale"]
    assert scale["verdict"] == "failed"
    assert "8217" in scale["advice"]


def test_a_bad_device_url_says_which_key_to_fix(
    sandbox: RunningSandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    config = lane_config(sandbox, printer='"dummy://?colour=red"', scanners='["ftp://x"]')
    code, report = doctor(capsys, config, "--lang", "en")
    assert code == 1
    checks = by_name(report)
    assert checks["printer:dummy://"]["verdict"] == "failed"
    assert "colour" in checks["printer:dummy://"]["detail"]
    assert "devices.printer" in checks["printer:dummy://"]["advice"]
    assert "devices.scanners" in checks["scanner:ftp://x"]["advice"]


def test_a_printer_out_of_paper_fails(
    sandbox: RunningSandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    config = lane_config(sandbox, printer='"dummy://?paper=out"')
    code, report = doctor(capsys, config, "--lang", "en", "--print-test")
    assert code == 1
    check = by_name(report)["printer:dummy://"]
    assert check["verdict"] == "failed"
    assert "out of paper" in check["detail"]
    assert "new roll" in check["advice"]


def test_a_scanner_held_by_a_running_lane_is_a_warning(
    sandbox: RunningSandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    config = lane_config(sandbox)
    with VirtualScannerPort(f"lane-{TERMINAL}"):  # as the checkout screen holds it
        code, report = doctor(capsys, config, "--lang", "en")
    check = by_name(report)[f"scanner:virtual://lane-{TERMINAL}"]
    assert check["verdict"] == "warning"
    assert "in use by another program" in check["detail"]
    assert "Close the checkout" in check["advice"]
    assert code == 0


async def test_live_scans_are_shown_and_identities_masked(
    sandbox: RunningSandbox, runtime_dir: Path
) -> None:
    config = load_config(lane_config(sandbox, printer='""'))
    nid = str(sandbox.household("kalabarg")["national_id"])
    gtin = "6260000000019"
    shown: list[SeenScan] = []
    listening: list[tuple[str, float]] = []

    def on_listen(url: str, seconds: float) -> None:
        listening.append((url, seconds))
        send_to_lane(f"lane-{TERMINAL}", [gtin, nid])

    report = await build_doctor(config, lang="en").run(
        scan_seconds=3, on_scan=shown.append, on_listen=on_listen
    )

    assert listening == [(f"virtual://lane-{TERMINAL}", 3)]
    assert [(s.kind, s.text) for s in report.scans] == [
        ("product", gtin),
        ("national_id", mask_scan(nid)[1]),
    ]
    assert shown == list(report.scans)
    assert nid not in json.dumps(report.to_json(language="en", config=None, terminal=None))
    check = {c.name: c for c in report.checks}[f"scanner:virtual://lane-{TERMINAL}"]
    assert check.verdict is Verdict.OK
    assert "2 scans" in check.detail
    assert not scanner_link(f"lane-{TERMINAL}", runtime_dir).exists()  # released afterwards


async def test_listening_with_no_scan_is_a_warning(sandbox: RunningSandbox) -> None:
    config = load_config(lane_config(sandbox, printer='""'))
    report = await build_doctor(config, lang="en").run(scan_seconds=0.3)
    check = {c.name: c for c in report.checks}[f"scanner:virtual://lane-{TERMINAL}"]
    assert check.verdict is Verdict.WARNING
    assert "no scan arrived" in check.detail
    assert "keyboard mode" in check.advice
    assert report.scans == ()


async def test_the_test_page_reaches_the_printer(sandbox: RunningSandbox) -> None:
    from drivers.printer import open_printer
    from drivers.scale import open_scale
    from drivers.scanner import open_scanner

    config = load_config(lane_config(sandbox))
    printers: list[Any] = []

    def keep_printer(url: str) -> Any:
        printers.append(open_printer(url))
        return printers[-1]

    devices = DeviceOpeners(open_scanner, keep_printer, open_scale)
    doc = build_doctor(config, lang="fa", devices=devices)
    check = check_named(await doc.run(print_test=True), "printer:dummy://")
    assert check.verdict is Verdict.OK
    assert "صفحه آزمایشی چاپ شد" in check.detail
    [printer] = printers
    output = printer.device.output
    assert output.startswith(b"\x1b@")
    assert len(output) > 1000  # a raster page, not just a reset

    printers.clear()
    check = check_named(await doc.run(print_test=False), "printer:dummy://")
    assert check.verdict is Verdict.OK
    assert printers[0].device.output == b""  # asked for its status only


def check_named(report: Report, name: str) -> Check:
    return {c.name: c for c in report.checks}[name]


async def test_a_broken_device_driver_becomes_a_failed_check(sandbox: RunningSandbox) -> None:
    config = load_config(lane_config(sandbox, scanners="[]"))

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug in a driver")

    doc = build_doctor(config, lang="en", devices=DeviceOpeners(broken, broken, broken))
    report = await doc.run()
    check = check_named(report, "printer:dummy://")
    assert check.verdict is Verdict.FAILED
    assert "RuntimeError" in check.detail
    assert "--verbose" in check.advice
    assert check_named(report, "scanner").verdict is Verdict.OK  # none configured
    assert report.exit_code == 1

    without = await doc.run(devices=False)  # as a running checkout asks: it holds the devices
    assert [c.name for c in without.checks] == [c.name for c in report.checks][:-2]
    assert without.exit_code == 0


# --------------------------------------------------------------------------- the store


def test_the_doctor_trusts_only_the_keys_the_lane_trusts_and_shows_a_large_catalog_drop(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Keys rotated k1 → k2 → k3 (k2 withdrawn), then a catalog that dropped 40 %.

    The ledger's rules, replayed by a man in the middle from the time of k2,
    must fail the doctor's rules check as they fail the lane's own sync; the
    store check warns of the catalog the lane took with a large drop.
    """
    k1, k2, k3 = Key("k1"), Key("k2"), Key("k3")
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)
    r1 = rules(k1, version="r-1", issued_at=start, announce=[k1, k2])
    r2 = rules(k2, version="r-2", issued_at=start + timedelta(days=1), announce=[k2, k3])
    r3 = rules(
        k3,
        version="r-3",
        issued_at=start + timedelta(days=2),
        announce=[k3],
        catalog_version="c-000002",
    )
    with ReplayLedger().serve() as ledger:
        config = lane_config_file(tmp_path, url=ledger.url, trusted=[k1])

        async def rotate_and_shrink() -> None:
            app = build_app(load_config(config), clock=QuickClock())
            try:
                for document in (r1, r2):
                    ledger.rules = document
                    await app.refresh.sync_rules()
                ledger.catalog = catalog(k3, version="c-000001", count=100)
                await app.refresh.sync_catalog()
                ledger.rules = r3
                await app.refresh.sync_rules()
                assert set(app.rules.trusted_keys()) == {"k1", "k3"}  # k2 withdrawn
                ledger.catalog = catalog(k3, version="c-000002", count=60)
                assert (await app.refresh.sync_catalog()).warning is not None
            finally:
                await app.aclose()

        asyncio.run(rotate_and_shrink())
        capsys.readouterr()  # what the lane logged meanwhile (the drop) is not the doctor's
        facts = build_doctor(load_config(config), lang="en").gather_store()
        assert facts.trusted_keys == {"k1": k1.public, "k3": k3.public}

        ledger.rules = r2  # replayed: signed by the withdrawn key
        code, report = doctor(capsys, config, "--lang", "en")
        assert code == 1
        checks = by_name(report)
        assert checks["rules"]["verdict"] == "failed"
        assert "'k2', which this terminal does not trust" in checks["rules"]["detail"]
        store = checks["store"]
        assert store["verdict"] == "warning"
        assert "the catalog c-000002 dropped 40 of 100 products (40 %)" in store["detail"]
        assert "programme's support" in store["advice"]
        assert checks["catalog"]["verdict"] == "ok"

        ledger.rules = r3
        code, text = doctor_text(capsys, config, "--lang", "fa")
        assert "فهرست کالاهای c-000002، ۴۰ کالا از ۱۰۰ کالا را حذف کرد (۴۰ درصد)" in text
        assert "از پشتیبانی برنامه بپرسید" in text


def test_a_damaged_store_fails(sandbox: RunningSandbox, capsys: pytest.CaptureFixture[str]) -> None:
    config = lane_config(sandbox)
    store = load_config(config).store.path
    store.write_bytes(b"this is not a database, just some bytes " * 200)
    code, report = doctor(capsys, config, "--lang", "en")
    assert code == 1
    check = by_name(report)["store"]
    assert check["verdict"] == "failed"
    assert "damaged" in check["detail"]
    assert "backup" in check["advice"]
    assert by_name(report)["catalog"]["verdict"] == "warning"


@pytest.mark.parametrize("swap", ["another", "older", "missing", "empty"])
def test_a_store_that_is_not_the_lanes_fails_and_nothing_is_adopted(
    sandbox: RunningSandbox, capsys: pytest.CaptureFixture[str], swap: str
) -> None:
    """What ``run`` and ``redeem`` refuse, the doctor reports; it writes nothing."""
    config = lane_config(sandbox)
    store = load_config(config).store.path
    identity = identity_path(store, config)
    with open_lane_store(store, config_path=config, lang="en") as lane_store:  # the lane's own
        lane_store.set_meta("note", "kept")
    kept = identity.read_bytes()
    code, report = doctor(capsys, config, "--lang", "en")
    assert by_name(report)["store"]["verdict"] == "ok"
    if swap == "another":
        other = sandbox.data_dir / "other.sqlite"
        with open_lane_store(other, config_path=sandbox.data_dir / "other.toml", lang="en"):
            pass
        shutil.copyfile(other, store)
    elif swap == "older":
        backup = sandbox.data_dir / "backup.sqlite"
        shutil.copyfile(store, backup)
        with open_lane_store(store, config_path=config, lang="en") as lane_store:
            lane_store.record_new_redemption(_sale("later"), at=NOW)  # a sale the copy lacks
        kept = identity.read_bytes()
        shutil.copyfile(backup, store)
    elif swap == "missing":
        store.unlink()
    else:
        store.write_bytes(b"")
    before = store.read_bytes() if store.exists() else None
    for lang, words in (("en", "--new-store"), ("fa", "--new-store")):
        code, report = doctor(capsys, config, "--lang", lang)
        assert code == 1
        check = by_name(report)["store"]
        assert check["verdict"] == "failed", check
        assert words in check["detail"] and "--new-store" in check["advice"]
    code, text = doctor_text(capsys, config, "--lang", "en")
    reason = {
        "another": "not this lane's store",
        "older": "older than the one this lane last used",
        "missing": "is missing",
        "empty": "is empty",
    }[swap]
    assert reason in text
    # Nothing adopted or written: the identity file and the store are as they were.
    assert identity.read_bytes() == kept
    assert (store.read_bytes() if store.exists() else None) == before
    with pytest.raises(StoreRefused):
        open_lane_store(store, config_path=config, lang="en")


def _sale(rid: str) -> NewRedemption:
    return NewRedemption(
        id=rid,
        created_at=NOW,
        business_date=NOW.date(),
        identity_kind="token",
        mode="online",
        body=b'{"id":"%s"}' % rid.encode(),
        basket="{}",
        total_rial=1000,
        covered_rial=1000,
        payable_rial=0,
        token_jti=f"jti-{rid}",
    )


# --------------------------------------------------------------------------- the judges


def _rules(version: str, valid_until: datetime, catalog: str = "c-1") -> Any:
    return parse_rule_set(
        {
            "version": version,
            "issued_at": (valid_until - timedelta(days=2)).isoformat(),
            "valid_until": valid_until.isoformat(),
            "signing_keys": [],
            "categories": [],
            "programs": [],
            "catalog": {"version": catalog},
            "hot_list": [],
        }
    )


def _store(**facts: Any) -> StoreFacts:
    return StoreFacts(path=Path("/lane/store.sqlite"), exists=True, **facts)


@pytest.mark.parametrize(
    ("offset", "verdict", "word"),
    [
        (timedelta(seconds=30), Verdict.OK, "agrees"),
        (timedelta(minutes=-10), Verdict.WARNING, "behind"),
        (timedelta(minutes=10), Verdict.WARNING, "ahead"),
        (timedelta(hours=-2), Verdict.FAILED, "behind"),
    ],
)
def test_judge_clock(offset: timedelta, verdict: Verdict, word: str) -> None:
    check = judge_clock(NOW - offset, now=NOW, lang="en")
    assert check.verdict is verdict
    assert word in check.detail
    assert bool(check.advice) == (verdict is not Verdict.OK)


def test_judge_rules_expired_behind_and_current() -> None:
    current = _rules("r-2", NOW + timedelta(days=1))
    ledger = LedgerFacts(url="u", reached=True, auth="accepted", rules=current)
    expired = _store(rules=_rules("r-1", NOW - timedelta(hours=1)))
    behind = _store(rules=_rules("r-1", NOW + timedelta(hours=1)))
    same = _store(rules=current, rules_fetched_at=NOW - timedelta(hours=3))

    check = judge_rules(expired, ledger, now=NOW, config="c.toml", lang="en")
    assert (check.verdict, "expired" in check.detail) == (Verdict.WARNING, True)
    check = judge_rules(behind, ledger, now=NOW, config="c.toml", lang="en")
    assert check.verdict is Verdict.WARNING
    assert "the ledger has r-2" in check.detail
    assert "rules sync --config c.toml" in check.advice
    check = judge_rules(same, ledger, now=NOW, config="c.toml", lang="en")
    assert check.verdict is Verdict.OK
    assert "fetched 180 minutes ago" not in check.detail and "3 hours ago" in check.detail
    check = judge_rules(same, ledger, now=NOW, config="c.toml", lang="fa")
    assert "۳ ساعت پیش" in check.detail


def test_judge_catalog_compares_with_the_rules() -> None:
    ledger = LedgerFacts(
        url="u", reached=True, auth="accepted", rules=_rules("r", NOW, catalog="c-9")
    )
    old = _store(catalog_version="c-8", catalog_count=10)
    new = _store(catalog_version="c-9", catalog_count=3000)
    empty = _store(catalog_version=None, catalog_count=0)
    assert judge_catalog(old, ledger, config="c", lang="en").verdict is Verdict.WARNING
    check = judge_catalog(new, ledger, config="c", lang="en")
    assert (check.verdict, check.detail) == (Verdict.OK, "catalog c-9 with 3,000 products")
    assert judge_catalog(empty, ledger, config="c", lang="en").verdict is Verdict.WARNING
    broken = _store(error="the store is damaged")
    assert "cannot tell" in judge_catalog(broken, None, config="c", lang="en").detail


def test_judge_store_findings_add_up() -> None:
    facts = _store(
        waiting=4,
        oldest_waiting=NOW - timedelta(hours=30),
        problems=2,
        free_bytes=10 * 1024 * 1024,
    )
    check = judge_store(facts, now=NOW, max_hours=24, config="c.toml", lang="en")
    assert check.verdict is Verdict.WARNING
    for words in ("4 waiting", "2 problems need a person", "10 MB", "since"):
        assert words in check.detail
    for words in ("problems list --config c.toml", "queue sync", "Free some disk space"):
        assert words in check.advice
    fresh = _store(waiting=4, oldest_waiting=NOW - timedelta(hours=1))
    assert judge_store(fresh, now=NOW, max_hours=24, config="c", lang="en").verdict is Verdict.OK
    read_only = _store(writable=False)
    check = judge_store(read_only, now=NOW, max_hours=24, config="c", lang="en")
    assert check.verdict is Verdict.FAILED
    nowhere = StoreFacts(path=Path("/ro/store.sqlite"), exists=False, writable=False)
    check = judge_store(nowhere, now=NOW, max_hours=24, config="c", lang="en")
    assert check.verdict is Verdict.FAILED
    assert "/ro" in check.advice


def test_judge_store_warns_of_a_large_catalog_drop_in_both_languages() -> None:
    warning = CatalogWarning(version="c-000007", dropped=2_450, before=6_000, at=NOW)
    quiet = judge_store(_store(), now=NOW, max_hours=24, config="c", lang="en")
    assert quiet.verdict is Verdict.OK and "dropped" not in quiet.detail
    english = judge_store(
        _store(catalog_warning=warning), now=NOW, max_hours=24, config="c", lang="en"
    )
    assert english.verdict is Verdict.WARNING
    assert "the catalog c-000007 dropped 2,450 of 6,000 products (40 %)" in english.detail
    assert english.advice.startswith("It is signed and the lane uses it")
    persian = judge_store(
        _store(catalog_warning=warning), now=NOW, max_hours=24, config="c", lang="fa"
    )
    assert persian.verdict is Verdict.WARNING
    assert "فهرست کالاهای c-000007، ۲٬۴۵۰ کالا از ۶٬۰۰۰ کالا را حذف کرد (۴۰ درصد)" in (
        persian.detail
    )
    assert "پشتیبانی برنامه" in persian.advice


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet="0123456789", min_size=9, max_size=9), st.sampled_from(["", "]E0", "]Q1"]))
def test_a_national_id_scan_is_never_shown_whole(first_nine: str, aim: str) -> None:
    nid = valid_national_id(first_nine)
    kind, text = mask_scan(aim + nid)
    assert nid not in text
    assert kind != "product" or len(nid) in (12, 13, 14)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(["6260000000019", "]E06260000000019", "]C10106260000000019"]))
def test_product_scans_are_shown_in_full(data: str) -> None:
    assert mask_scan(data)[1] == data


def test_both_languages_say_the_same_things() -> None:
    english = read_catalog("doctor", "en").translations()
    persian = read_catalog("doctor", "fa").translations()  # its own texts, no fallback
    assert set(english) == set(persian)
    for key in english:  # the Persian may name the device where the English quotes the driver
        en = placeholders(english[key]) - {"url"}
        fa = placeholders(persian[key]) - {"url"}
        assert en == fa, key
    labels = {key for key in english if key.startswith("label.")}
    assert {"label.config", "label.scanner", "label.scale"} <= labels


def test_the_command_is_registered() -> None:
    from pos_client.commands import COMMAND_MODULES

    assert "pos_client.commands.doctor" in COMMAND_MODULES
    with pytest.raises(SystemExit) as exited:
        main(["doctor", "--scan-seconds", "-1"])
    assert exited.value.code == 2
