"""``pos-client demo --chain``: a chain enrols three lanes in two stores with store codes.

Starts a sandbox ledger (in a temporary folder unless ``--data`` is given) and
plays both parts with the real commands, each printed before it runs: the
chain's back office makes store codes (``pos-client fleet codes``, with the
demo merchant's admin token in ``POS_CLIENT_ADMIN_TOKEN``), an installer
enrols each lane with one (``pos-client enrol --code``), and each new lane
sells once (``pos-client redeem``). Then it prints the lanes and stops; no
token is printed. Exit 0 when every lane was enrolled and sold.

Handlers stay thin: the sandbox and the commands do the work.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from pos_client.commands.fleet import ADMIN_TOKEN_ENV

#: The demo chain: merchant M-0001's two stores in Rasht, and how many lanes each gets.
CHAIN: tuple[tuple[str, int], ...] = (("S-001", 2), ("S-002", 1))
MERCHANT = "M-0001"
#: A product of the demo catalog (low-fat milk, 420,000 Rials) each new lane sells once.
DEMO_SALE = {"barcode": "6260000000040", "unit_price_rial": 420_000}


@contextlib.contextmanager
def _admin_env(token: str) -> Iterator[None]:
    before = os.environ.get(ADMIN_TOKEN_ENV)
    os.environ[ADMIN_TOKEN_ENV] = token
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(ADMIN_TOKEN_ENV, None)
        else:
            os.environ[ADMIN_TOKEN_ENV] = before


def _run(argv: Sequence[str], *, shown: Sequence[str] | None = None) -> tuple[int, str]:
    """Run one command as the command line does, after printing it; its code and stdout
    (what it says on standard error is shown only when it fails)."""
    from pos_client.cli import main

    print("$ pos-client " + " ".join(shown or argv), flush=True)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    if code != 0:
        print(err.getvalue(), end="", file=sys.stderr)
    return code, out.getvalue()


def run_chain(data: Path | None) -> int:
    from pos_client.sandbox.server import start_sandbox

    owned = data is None
    root = Path(tempfile.mkdtemp(prefix="pos-client-chain-")) if data is None else data
    lanes: list[dict[str, Any]] = []
    try:
        with start_sandbox(root / "sandbox") as sandbox:
            url = sandbox.url
            print(f"A sandbox ledger at {url}; the chain is merchant {MERCHANT}.\n")
            print(f"The back office (merchant admin token in ${ADMIN_TOKEN_ENV}):")
            codes: dict[str, list[str]] = {}
            with _admin_env(sandbox.admin_token(MERCHANT)):
                for store, count in CHAIN:
                    argv = ["fleet", "codes", "--store", store, "--count", str(count)]
                    code, out = _run([*argv, "--ttl", "1h", "--ledger", url])
                    if code != 0:
                        return code
                    codes[store] = out.split()
                    print("".join(f"  {c}\n" for c in codes[store]), end="")
            print("\nThe installers, one lane each:")
            for store, store_codes in codes.items():
                for n, enrolment_code in enumerate(store_codes, 1):
                    config = root / "lanes" / store / f"lane-{n}.toml"
                    argv = ["enrol", "--ledger", url, "--config", str(config)]
                    code, out = _run([*argv, "--code", enrolment_code, "--json"])
                    if code != 0:
                        return code
                    result = json.loads(out.strip().splitlines()[-1])
                    lanes.append({**result, "config": str(config)})
                    print(f"  terminal {result['terminal_id']} of store {store}")
            print("\nEach new lane sells once:")
            basket = root / "basket.json"
            basket.write_text(json.dumps({"lines": [DEMO_SALE]}), encoding="utf-8")
            nid = sandbox.household("kalabarg")["national_id"]
            for lane in lanes:
                token = sandbox.mint_token(nid)
                argv = ["redeem", "--config", lane["config"], "--basket", str(basket), "--json"]
                code, out = _run([*argv, "--token", token], shown=[*argv, "--token", "KB1..."])
                if code != 0:
                    return code
                lane["sale"] = json.loads(out)["status"]
                print(f"  {lane['terminal_id']}: {lane['sale']}")
        print("\nstore   terminal  sale      config")
        for lane in lanes:
            print(
                f"{lane['store_id']:<7} {lane['terminal_id']:<9} {lane['sale']:<9} {lane['config']}"
            )
        print(
            "\nTwo stores, three lanes, enrolled by codes."
            + (" (The demo's folder is removed now.)" if owned else f" Kept in {root}.")
        )
        return 0
    finally:
        if owned:
            shutil.rmtree(root, ignore_errors=True)


def run(args: argparse.Namespace) -> int:
    return run_chain(args.data)
