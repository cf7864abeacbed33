"""Privacy and hygiene of the command line: private configs, secrets kept off the process
list, one clear sentence (in the lane's language) where there was English or a traceback.

Real processes and a real sandbox ledger where the user meets them; a real socket holds
the port the sandbox is refused.
"""

from __future__ import annotations

import grp
import io
import json
import os
import pwd
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from pos_client.cli import build_parser
from pos_client.commands.secrets import read_secret, resolve_secrets
from pos_client.compose import offline_limits
from pos_client.config import load_config
from pos_client.domain.offline import OfflineLimits
from pos_client.errors import ConfigError
from pos_client.locale import read_catalog
from pos_client.sandbox.server import RunningSandbox
from tests.support.lane import PASTA, national_id

TERMINAL = "T-0001"


def cli(*args: str, stdin: str | None = None, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return subprocess.run(
        [sys.executable, "-m", "pos_client.cli", *args],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=60,
        env={**os.environ, **(env or {})},
        check=False,
    )


def lane_copy(sandbox: RunningSandbox, name: str = "lane-copy.toml", **lines: str) -> Path:
    """The demo lane's TOML beside it (same store), some ``key = value`` lines replaced."""
    text = sandbox.config_path(TERMINAL).read_text(encoding="utf-8")
    for key, value in lines.items():
        text, found = re.subn(rf"^{key} = .*$", f"{key} = {value}", text, count=1, flags=re.M)
        assert found == 1, key
    path = sandbox.data_dir / name
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return path


# --------------------------------------------------------------------------- item 8: the config


def _foreign_group(path: Path) -> int | None:
    """A group that is not the file owner's private group, or None if there is none."""
    owner = pwd.getpwuid(path.stat().st_uid).pw_name
    for group in grp.getgrall():
        if group.gr_name != owner:
            return group.gr_gid
    return None


def test_a_config_others_may_change_is_refused_naming_the_chmod(
    sandbox: RunningSandbox,
) -> None:
    path = lane_copy(sandbox)
    path.chmod(0o602)  # anyone may write, only the owner may read
    with pytest.raises(ConfigError) as refused:
        load_config(path)
    assert f"chmod 600 {path}" in refused.value.message
    checked = cli("config", "check", "--config", str(path))
    assert checked.returncode == 2
    assert "chmod 600" in checked.stderr and "Traceback" not in checked.stderr

    gid = _foreign_group(path)
    if os.geteuid() == 0 and gid is not None:  # a group that is not the owner's own
        os.chown(path, -1, gid)
        path.chmod(0o620)
        with pytest.raises(ConfigError, match="chmod 600"):
            load_config(path)
    path.chmod(0o600)
    assert load_config(path).terminal.id == TERMINAL  # private again: fine


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_the_doctor_fails_a_config_others_may_change(sandbox: RunningSandbox, lang: str) -> None:
    path = lane_copy(sandbox)
    path.chmod(0o666)
    result = cli("doctor", "--config", str(path), "--lang", lang, "--json")
    assert result.returncode == 2, result.stderr
    [check] = json.loads(result.stdout)["checks"]
    assert check["name"] == "config" and check["verdict"] == "failed"
    assert f"chmod 600 {path}" in check["advice"]
    if lang == "fa":
        assert _english_sentences(check["detail"] + " " + check["advice"]) == []


def test_the_config_reads_the_offline_limits_into_the_domains_type(
    sandbox: RunningSandbox,
) -> None:
    config = load_config(lane_copy(sandbox, max_outstanding_rial="7000"))
    assert isinstance(config.offline, OfflineLimits)
    assert config.offline.max_outstanding_rial == 7000
    assert offline_limits(config) == config.offline


# ------------------------------------------------------------------- item 9: doctor in Persian

#: Latin text that may stand in a Persian sentence: commands in backticks, placeholders,
#: URLs, paths, option flags, config keys and sections, codes, numbers.
_ALLOWED = re.compile(
    r"`[^`]*`|\{[a-z_]+\}|\[[^\]]*\]|\S*://\S*|/\S*|--?[a-z][\w-]*|"
    r"[A-Za-z0-9_]+(?:[._:-][A-Za-z0-9_]+)+|\d+"
)
_THREE_WORDS = re.compile(r"[A-Za-z]+[\s,;()]+[A-Za-z]+[\s,;()]+[A-Za-z]+")


def _english_sentences(text: str) -> list[str]:
    """Runs of three or more Latin words left once commands, paths and codes are taken out."""
    return _THREE_WORDS.findall(_ALLOWED.sub(" ", text))


def test_every_doctor_sentence_is_in_both_languages_and_the_persian_holds_no_english(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    english = read_catalog("doctor", "en").translations()
    persian = read_catalog("doctor", "fa").translations()  # its own texts, no fallback
    assert set(english) == set(persian)
    for key, text in persian.items():
        assert text.strip() or not english[key].strip(), key
        assert _english_sentences(text) == [], key

    # A lane where much is wrong: the ledger down, devices missing or mistyped.
    path = lane_copy(
        sandbox,
        url='"http://127.0.0.1:1/"',
        printer='"serial:///dev/ttyUSB-none-9"',
        scale='"nosuch://scale"',
        scanners='["serial:///dev/ttyACM-none-7"]',
    )
    env = {"POS_CLIENT_RUNTIME_DIR": str(tmp_path / "rt")}
    result = cli("doctor", "--config", str(path), "--lang", "fa", env=env)
    assert result.returncode == 1, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) >= 8
    for line in lines:
        assert _english_sentences(line) == [], line
    # The English report still quotes what the drivers and the network said.
    english_report = cli("doctor", "--config", str(path), "--lang", "en", env=env).stdout
    assert "ttyACM-none-7" in english_report


# --------------------------------------------------------------------------- item 9: the sandbox


def test_a_sandbox_on_a_port_in_use_says_so_in_one_sentence(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        data = tmp_path / "sandbox"
        result = cli("sandbox", "--data", str(data), "--port", str(port))
        verbose = cli("-v", "sandbox", "--data", str(data), "--port", str(port))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"pos-client: port {port} on 127.0.0.1 is already in use:"
        " pass --port N or stop the other program"
    )
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    assert not data.exists()  # nothing was made for a sandbox that could not start
    assert verbose.returncode == 2
    assert "Address already in use" in verbose.stderr  # -v shows what the system said


# --------------------------------------------------------------------------- item 9: --runtime-dir


@pytest.mark.parametrize("command", ["run", "demo"])
def test_run_and_demo_take_a_runtime_dir(command: str) -> None:
    args = build_parser().parse_args([command, "--runtime-dir", "/tmp/lane-devices"])
    assert args.runtime_dir == "/tmp/lane-devices"


# --------------------------------------------------------------------------- item 7: secrets


def test_a_secret_from_a_file_or_standard_input(tmp_path: Path) -> None:
    secret = tmp_path / "token"
    secret.write_text("KB1.abc.def\n\n", encoding="utf-8")
    secret.chmod(0o600)
    assert read_secret(str(secret), what="--token") == "KB1.abc.def\n"  # one newline only
    assert read_secret("-", what="--token", stdin=io.StringIO("KB1.x.y\r\n")) == "KB1.x.y"
    secret.chmod(0o640)
    with pytest.raises(ConfigError, match="chmod 600"):
        read_secret(str(secret), what="--token")
    empty = tmp_path / "empty"
    empty.write_text("\n", encoding="utf-8")
    empty.chmod(0o600)
    with pytest.raises(ConfigError, match="empty"):
        read_secret(str(empty), what="--otp")
    with pytest.raises(ConfigError, match="no file"):
        read_secret(str(tmp_path / "nothing"), what="--otp")


def test_a_secret_is_given_once_and_standard_input_read_once() -> None:
    parser = build_parser()
    args = parser.parse_args(
        ["redeem", "--national-id-file", "-", "--otp-file", "-", "--basket", "b.json"]
    )
    with pytest.raises(ConfigError, match="only one option"):
        resolve_secrets(args, ("national_id", "otp"), stdin=io.StringIO("x"))
    args = parser.parse_args(["redeem", "--token-file", "-", "--basket", "b.json"])
    resolve_secrets(args, ("national_id", "token", "purchase_code", "otp"), stdin=io.StringIO("t"))
    assert args.token == "t"
    with pytest.raises(SystemExit):  # one identity only, as before
        parser.parse_args(["redeem", "--token", "a", "--token-file", "-", "--basket", "b.json"])


def test_the_help_says_plain_secrets_are_visible_to_other_users() -> None:
    parser = build_parser()
    for argv in (["redeem", "--help"], ["otp", "request", "--help"]):
        with pytest.raises(SystemExit):
            out = io.StringIO()
            sys.stdout, saved = out, sys.stdout
            try:
                parser.parse_args(argv)
            finally:
                sys.stdout = saved
        text = " ".join(out.getvalue().split())
        assert "visible to other users" in text and "-file" in text


def test_otp_and_redeem_read_secrets_from_files_and_standard_input(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    nid = national_id(sandbox, "kalabarg")
    config = str(sandbox.config_path(TERMINAL))
    challenge = cli("otp", "request", "--config", config, "--national-id-file", "-", stdin=nid)
    assert challenge.returncode == 0, challenge.stderr
    challenge_id = challenge.stdout.strip()
    code_file = tmp_path / "otp"
    code_file.write_text(sandbox.otp_code(challenge_id) + "\n", encoding="utf-8")
    code_file.chmod(0o600)
    basket = tmp_path / "basket.json"
    line = {"barcode": PASTA, "quantity_milli": 2000, "unit_price_rial": 420000}
    basket.write_text(json.dumps({"lines": [line]}), encoding="utf-8")
    result = cli(
        "redeem",
        "--config",
        config,
        "--national-id-file",
        "-",
        "--otp-challenge",
        challenge_id,
        "--otp-file",
        str(code_file),
        "--basket",
        str(basket),
        "--json",
        stdin=nid + "\n",
    )
    assert "Traceback" not in result.stderr
    assert nid not in result.stdout + result.stderr
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["covered_rial"] == 840_000
