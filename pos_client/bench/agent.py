"""Figure group: a redemption through the lane agent, beside a spawned ``pos-client redeem``
and the ledger's bare ``POST /v1/redemptions``.

A real ``pos-client agent`` process serves a lane of its own (a fresh store)
on a Unix socket; a one-line token sale is posted to it on a kept-alive
connection and timed from request to answer (the wallet inquiry, the journal
and outbox written and fsynced, the redemption sent and its answer recorded,
all inside). Interleaved one for one with it: the same kind of redemption
posted bare to the ledger (the limit the issue names: what the ledger itself
takes), and, for the first few, the same sale made by spawning
``pos-client redeem --json`` (what a chain's software paid per sale before
the agent: an interpreter's start-up each time).

The agent makes the two exchanges a sale needs (the inquiry, then the
redemption); the bare POST is one. The details carry the bare inquiry's
round trip, so the reader sees where the difference goes.

Imports the standard library, httpx and the benchmark's own modules.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from .figures import Against, Figure, Goal, percentile
from .ledger import LedgerProcess

__all__ = ["measure"]

GROUP = "agent"
START_TIMEOUT = 60.0


def _start(config: Path, socket_path: Path) -> subprocess.Popen[str]:
    process = subprocess.Popen(  # noqa: S603 - our own module, our own interpreter
        [
            sys.executable,
            "-m",
            "pos_client.cli",
            "agent",
            "--config",
            str(config),
            "--socket",
            str(socket_path),
            "--new-store",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    first = process.stdout.readline()
    if "listening on" not in first:
        process.kill()
        process.wait(timeout=10)
        raise RuntimeError(f"the lane agent did not start: {first.strip()!r}")
    return process


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=START_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _spawned(config: Path, token: str, basket: Path) -> float:
    """Seconds for one ``pos-client redeem --json`` process, start to exit."""
    start = time.perf_counter()
    result = subprocess.run(  # noqa: S603 - our own module, our own interpreter
        [
            sys.executable,
            "-m",
            "pos_client.cli",
            "redeem",
            "--config",
            str(config),
            "--token-file",
            "-",
            "--basket",
            str(basket),
            "--json",
        ],
        input=token,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    took = time.perf_counter() - start
    if result.returncode != 0 or json.loads(result.stdout)["status"] != "approved":
        raise RuntimeError(
            f"a spawned redeem failed: {result.stdout[-300:]} {result.stderr[-300:]}"
        )
    return took


async def measure(ledger: LedgerProcess, root: Path, *, sales: int, spawned: int) -> list[Figure]:
    product = ledger.load_product()
    price = int(product["price_rial"])
    lines = [{"barcode": product["gtin"], "quantity_milli": 1000, "unit_price_rial": price}]
    config = ledger.write_lane_config(root / "lane.toml", store_path=root / "lane.sqlite")
    basket = root / "basket.json"
    basket.write_text(json.dumps({"lines": lines}), encoding="utf-8")
    folder = Path(tempfile.mkdtemp(prefix="pos-agent-", dir="/tmp"))  # a short socket path
    socket_path = folder / "agent.sock"
    bare_sales = ledger.sales(sales, mode="online")
    agent_ms: list[float] = []
    bare_ms: list[float] = []
    inquiry_ms: list[float] = []
    spawned_ms: list[float] = []
    headers = {"Authorization": f"Bearer {ledger.terminal_token()}"}
    process = _start(config, socket_path)
    try:
        transport = httpx.AsyncHTTPTransport(uds=str(socket_path))
        async with (
            httpx.AsyncClient(transport=transport, base_url="http://lane", timeout=60) as lane,
            httpx.AsyncClient(base_url=ledger.url, headers=headers, timeout=60) as bare,
        ):
            await lane.get("/v1/health")
            await bare.get("/v1/health")
            warm = 3
            for n in range(warm + sales):
                body = {"token": ledger.token(), "lines": lines}
                start = time.perf_counter()
                answer = await lane.post("/v1/redemptions", json=body)
                took = time.perf_counter() - start
                if answer.status_code != 200 or answer.json()["status"] != "approved":
                    raise RuntimeError(f"a sale through the agent was answered {answer.text[:300]}")
                if n < warm:
                    continue
                sale = bare_sales[n - warm]
                start = time.perf_counter()
                answer = await bare.post(
                    "/v1/redemptions",
                    content=sale.body,
                    headers={"Idempotency-Key": sale.id, "Content-Type": "application/json"},
                )
                posted = time.perf_counter() - start
                if answer.status_code != 201 or answer.json()["status"] != "approved":
                    raise RuntimeError(f"a bare redemption was answered {answer.status_code}")
                start = time.perf_counter()
                answer = await bare.post("/v1/wallet-inquiries", json={"token": ledger.token()})
                inquired = time.perf_counter() - start
                answer.raise_for_status()
                if n - warm < spawned:
                    token = ledger.token()
                    spawned_ms.append(
                        1000 * await asyncio.to_thread(_spawned, config, token, basket)
                    )
                agent_ms.append(took * 1000)
                bare_ms.append(posted * 1000)
                inquiry_ms.append(inquired * 1000)
    finally:
        _stop(process)
        with_socket = [socket_path, folder]
        for path in with_socket:
            try:
                path.unlink() if path.is_socket() else os.rmdir(path)
            except OSError:
                pass
    details: dict[str, Any] = {
        "bare_post_p99_ms": percentile(bare_ms, 99),
        "bare_inquiry_p50_ms": percentile(inquiry_ms, 50),
        "bare_inquiry_p99_ms": percentile(inquiry_ms, 99),
    }
    note = "a one-line token sale posted to a real agent on its Unix socket, kept alive"
    figures = [
        Figure(
            key=f"agent_p{q}_vs_bare_post",
            group=GROUP,
            name=f"Redeem through the lane agent p{q}",
            value=percentile(agent_ms, q),
            unit="ms",
            against=Against("limit", f"bare POST /v1/redemptions p{q}", percentile(bare_ms, q)),
            samples=sales,
            goal=Goal("ratio_at_most", 1.3, "≤ 1.3x bare POST"),
            note=note,
            details=details,
        )
        for q in (50, 99)
    ]
    both = [a + b for a, b in zip(inquiry_ms, bare_ms, strict=True)]
    figures.append(
        Figure(
            key="agent_p50_vs_two_exchanges",
            group=GROUP,
            name="Redeem through the lane agent p50",
            value=percentile(agent_ms, 50),
            unit="ms",
            against=Against("peer", "bare inquiry + bare POST p50", percentile(both, 50)),
            samples=sales,
            note="the two exchanges with the ledger a sale needs, made bare, one after the other",
        )
    )
    figures.extend(
        Figure(
            key=f"agent_p{q}_vs_spawned",
            group=GROUP,
            name=f"Redeem through the lane agent p{q}",
            value=percentile(agent_ms, q),
            unit="ms",
            against=Against("peer", f"a spawned pos-client redeem p{q}", percentile(spawned_ms, q)),
            samples=len(spawned_ms),
            note="what a chain's software paid per sale before the agent: a process each",
        )
        for q in (50, 99)
    )
    return figures
