"""What ``pos-client demo`` prints for the offline step: the training key and a KB2 token.

The guide is made from a real sandbox; the token it prints is checked as the
lane checks it (the sandbox's signing key, a KB2 snapshot), and the QR code it
prints in text is read back by zxing-cpp from the characters themselves.
"""

from __future__ import annotations

from pathlib import Path

import zxingcpp
from PIL import Image

from pos_client.commands.demo import _guide
from pos_client.commands.output import terminal_qr
from pos_client.commands.training import SandboxOutage
from pos_client.domain.national_id import mask_national_id
from pos_client.domain.tokens import verify_token_signature
from pos_client.sandbox.server import RunningSandbox

#: What each printed character shows of its two module rows (top, bottom): True for
#: the terminal's foreground (light, the code is printed inverted for dark terminals).
_HALVES = {"█": (True, True), "▀": (True, False), "▄": (False, True), "\xa0": (False, False)}


def read_terminal_qr(lines: list[str]) -> list[str]:
    """Decode a QR code printed as text, as a camera would see it (4 pixels a module)."""
    width = max(len(line) for line in lines)
    image = Image.new("L", (width, 2 * len(lines)), 0)
    for row, line in enumerate(lines):
        for column, char in enumerate(line):
            top, bottom = _HALVES[char]
            image.putpixel((column, 2 * row), 255 if top else 0)
            image.putpixel((column, 2 * row + 1), 255 if bottom else 0)
    framed = Image.new("L", (width + 8, 2 * len(lines) + 8), 255)  # the screen around it
    framed.paste(image, (4, 4))
    big = framed.resize((framed.width * 4, framed.height * 4), Image.Resampling.NEAREST)
    return [r.text for r in zxingcpp.read_barcodes(big)]


def test_the_demo_prints_a_kb2_token_and_the_training_key(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    guide, text = _guide(sandbox, "t", tmp_path, ledger_url=sandbox.url)
    assert isinstance(guide.ledger_switch, SandboxOutage)
    assert "F12 switches the sandbox ledger off" in text
    printed = [line for line in text.splitlines() if line.startswith("KB2.")]
    assert len(printed) == 1
    keys = sandbox.sandbox.signer.trusted_keys()
    claims = verify_token_signature(printed[0], keys=keys)
    household = sandbox.household("kalabarg")
    assert claims.v == 2 and claims.purses
    assert claims.national_id == household["national_id"]
    assert f"A KB2 token of household {mask_national_id(claims.national_id)}" in text
    # A fresh one, from another terminal, on the help screen too.
    assert any("--v2 --no-qr" in command for command in guide.commands)


def test_the_printed_qr_code_reads_back_as_the_token(sandbox: RunningSandbox) -> None:
    token = sandbox.mint_token(sandbox.household("kalabarg")["national_id"], version=2)
    lines = terminal_qr(token, 200)
    assert lines
    assert read_terminal_qr(lines) == [token]


def test_a_narrow_terminal_gets_the_token_as_text_only(sandbox: RunningSandbox) -> None:
    token = sandbox.mint_token(sandbox.household("kalabarg")["national_id"], version=2)
    assert terminal_qr(token, 40) == []
