"""``pos-client sandbox`` (foreground, Ctrl-C), ``pos-client sandbox token``, the README's steps."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from pos_client.cli import build_parser, main
from pos_client.domain.signing import b64url_decode
from pos_client.domain.tokens import verify_token
from pos_client.sandbox import server as sandbox_server
from pos_client.sandbox.server import ListenError, RunningSandbox, start_sandbox

README = Path(__file__).parents[2] / "README.md"


def test_both_forms_parse() -> None:
    parser = build_parser()
    serve = parser.parse_args(["sandbox", "--data", "/tmp/d", "--port", "0", "--seed", "3"])
    assert serve.handler.__name__ == "_run_server"
    assert (serve.data, serve.port, serve.seed, serve.catalog_size) == (Path("/tmp/d"), 0, 3, None)
    token = parser.parse_args(["sandbox", "token", "0499370899", "--data", "/tmp/d"])
    assert token.handler.__name__ == "_run_token"
    assert token.national_id == "0499370899" and token.token_data == Path("/tmp/d")
    before = parser.parse_args(["sandbox", "--data", "/tmp/d", "token", "0499370899"])
    assert before.handler.__name__ == "_run_token" and before.data == Path("/tmp/d")


def test_token_prints_a_token_and_its_qr_code(
    sandbox: RunningSandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    nid = sandbox.household("yasna")["national_id"]
    persian = nid.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))  # a person may type so
    assert main(["sandbox", "token", persian, "--data", str(sandbox.data_dir)]) == 0
    out = capsys.readouterr().out
    token = out.strip().splitlines()[-1]
    key = sandbox.info["signing_key"]
    claims = verify_token(
        token, keys={key["kid"]: b64url_decode(key["public_key"])}, now=datetime.now().astimezone()
    )
    assert claims.national_id == nid
    assert "█" in out or "▀" in out  # the QR code, drawn in block characters
    assert nid not in out  # only a masked ID is shown
    with sandbox.client() as client:
        response = client.post("/v1/wallet-inquiries", json={"token": token})
        assert response.status_code == 200


def test_token_refusals(tmp_path: Path, sandbox: RunningSandbox) -> None:
    assert main(["sandbox", "token", "0499370899", "--data", str(tmp_path / "none")]) == 2
    assert main(["sandbox", "token", "123", "--data", str(sandbox.data_dir)]) == 2
    assert main(["sandbox", "token", "0499370899"]) == 2
    assert main(["sandbox"]) == 2  # no --data


def _readme_script(data_dir: Path) -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## The sandbox ledger\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    assert blocks[0].strip() == "pos-client sandbox --data /tmp/x"
    lines: list[str] = []
    for block in blocks[1:]:
        lines.extend(line[3:] if line.startswith("   ") else line for line in block.splitlines())
    return "set -euo pipefail\n" + "\n".join(lines).replace("/tmp/x", str(data_dir)) + "\n"


def test_the_readme_steps_work_against_the_real_command(tmp_path: Path) -> None:
    data_dir = tmp_path / "x"
    server = subprocess.Popen(
        [sys.executable, "-m", "pos_client.cli", "sandbox", "--data", str(data_dir), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert server.stdout is not None
        first = server.stdout.readline()
        assert first.startswith("Sandbox ledger listening on http://127.0.0.1:"), first
        assert str(data_dir / "sandbox.json") in server.stdout.readline()
        result = subprocess.run(
            ["bash", "-c", _readme_script(data_dir)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        out = result.stdout
        assert '"requires_otp": true' in out
        answers = re.split(r"^HTTP/1\.1 ", out, flags=re.M)[1:]
        assert [a.split()[0] for a in answers] == ["201", "200"]
        first_body = re.split(r"\r?\n\r?\n", answers[0], maxsplit=1)[1].strip()
        second_body = re.split(r"\r?\n\r?\n", answers[1], maxsplit=1)[1].strip()
        assert '"status":"approved"' in first_body
        assert first_body == second_body
    finally:
        server.send_signal(signal.SIGINT)
        rest, _ = server.communicate(timeout=20)
    assert server.returncode == 0, rest
    assert "Sandbox ledger stopped." in rest


def test_a_host_beyond_loopback_is_refused_without_the_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    # 192.0.2.1 is a documentation address: even a wrong check could not listen on it.
    assert main(["sandbox", "--data", str(data), "--host", "192.0.2.1", "--port", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert "--allow-remote-sandbox" in err and "/sandbox/" in err
    assert not data.exists()  # refused before anything was made
    with pytest.raises(ListenError, match="allow-remote-sandbox"):
        with start_sandbox(data, host="192.0.2.1"):
            pass
    assert not data.exists()


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("10.1.2.3", False),
        ("192.0.2.1", False),
    ],
)
def test_which_hosts_are_loopback(host: str, loopback: bool) -> None:
    assert sandbox_server.is_loopback(host) is loopback
    warning = sandbox_server.check_host(host, allow_remote=True)
    if loopback:
        assert warning is None
    else:
        assert warning is not None and "/sandbox/*" in warning
        with pytest.raises(ListenError):
            sandbox_server.check_host(host, allow_remote=False)


def test_the_flag_lets_it_listen_beyond_loopback_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The option handling only: the server is replaced, nothing binds."""
    calls: list[dict[str, object]] = []

    def fake_serve(data: object, **kw: object) -> None:
        calls.append({"data": data, **kw})

    monkeypatch.setattr("pos_client.sandbox.server.serve", fake_serve)
    parsed = build_parser().parse_args(["sandbox", "--data", "/tmp/d", "--allow-remote-sandbox"])
    assert parsed.allow_remote_sandbox is True
    assert build_parser().parse_args(["sandbox", "--data", "/tmp/d"]).allow_remote_sandbox is False
    args = ["sandbox", "--data", str(tmp_path), "--host", "0.0.0.0", "--port", "0"]
    assert main([*args, "--allow-remote-sandbox"]) == 0
    [call] = calls
    assert call["host"] == "0.0.0.0" and call["allow_remote"] is True
    err = capsys.readouterr().err
    assert "Warning" in err and "/sandbox/*" in err and "0.0.0.0" in err
    assert main(args) == 2 and len(calls) == 1  # without the flag serve is never reached
