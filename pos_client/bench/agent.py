"""Figure group: a redemption through the lane agent, beside a spawned ``pos-client redeem``
and the ledger's bare ``POST /v1/redemptions``.

A real ``pos-client agent`` process serves a lane of its own (a fresh store)
on a Unix socket. A one-line token sale is made as a chain's software makes it
(the README's recommended flow): the household's wallet inquired through the
agent while the cashier scans (``POST /v1/wallet-inquiries``, not on the
redeem's clock), then the redeem of the same token posted on the kept-alive
connection and timed from request to answer (the journal and outbox written and
fsynced, the redemption sent and its answer recorded: one exchange with the
ledger). Beside it, as a peer, the one-shot redeem (no inquiry before: the agent
inquires itself, two exchanges). Interleaved one for one with them: the same
kind of redemption posted bare to the ledger (the limit the issue names: what
the ledger itself takes), the bare inquiry, and, for the first few, the same
sale made by spawning ``pos-client redeem --json`` (what a chain's software
paid per sale before the agent: an interpreter's start-up each time).

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
    agent_ms: list[float] = []  # the integrator's redeem: its wallet inquired while scanning
    scanning_ms: list[float] = []  # that inquiry (off the redeem's clock)
    one_shot_ms: list[float] = []  # a redeem with no inquiry before: it inquires itself
    bare_ms: list[float] = []
    inquiry_ms: list[float] = []
    spawned_ms: list[float] = []
    health_ms: list[float] = []  # the lightest request to the agent: its HTTP on the socket
    headers = {"Authorization": f"Bearer {ledger.terminal_token()}"}
    process = _start(config, socket_path)

    async def sell(lane: httpx.AsyncClient, body: dict[str, Any]) -> float:
        start = time.perf_counter()
        answer = await lane.post("/v1/redemptions", json=body)
        took = time.perf_counter() - start
        if answer.status_code != 200 or answer.json()["status"] != "approved":
            raise RuntimeError(f"a sale through the agent was answered {answer.text[:300]}")
        return took * 1000

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
                # The integrator's flow: the wallet inquired while the cashier scans, then
                # the redeem of the same token (one exchange with the ledger: the redemption).
                token = ledger.token()
                start = time.perf_counter()
                inquired_here = await lane.post("/v1/wallet-inquiries", json={"token": token})
                scanned = time.perf_counter() - start
                inquired_here.raise_for_status()
                took = await sell(lane, {"token": token, "lines": lines})
                one_shot = await sell(lane, {"token": ledger.token(), "lines": lines})
                start = time.perf_counter()
                (await lane.get("/v1/health")).raise_for_status()
                hop = time.perf_counter() - start
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
                    spawned_ms.append(
                        1000 * await asyncio.to_thread(_spawned, config, ledger.token(), basket)
                    )
                agent_ms.append(took)
                scanning_ms.append(scanned * 1000)
                one_shot_ms.append(one_shot)
                bare_ms.append(posted * 1000)
                inquiry_ms.append(inquired * 1000)
                health_ms.append(hop * 1000)
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
        "inquiry_while_scanning_p50_ms": percentile(scanning_ms, 50),
        "one_shot_p50_ms": percentile(one_shot_ms, 50),
        "one_shot_p99_ms": percentile(one_shot_ms, 99),
        "agent_health_p50_ms": percentile(health_ms, 50),
    }
    name = "Redeem through the lane agent, wallet inquired while scanning"
    note = (
        "a one-line token sale posted to a real agent on its Unix socket, kept alive, after"
        " an inquiry of the same token through the agent (not on the redeem's clock)"
    )
    figures = [
        Figure(
            key=f"agent_p{q}_vs_bare_post",
            group=GROUP,
            name=f"{name} p{q}",
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
    figures.extend(
        Figure(
            key=f"agent_p{q}_vs_one_shot",
            group=GROUP,
            name=f"{name} p{q}",
            value=percentile(agent_ms, q),
            unit="ms",
            against=Against(
                "peer", f"a one-shot redeem through the agent p{q}", percentile(one_shot_ms, q)
            ),
            samples=sales,
            note="one-shot: no inquiry before, the agent inquires itself (two exchanges)",
        )
        for q in (50, 99)
    )
    both = [a + b for a, b in zip(inquiry_ms, bare_ms, strict=True)]
    figures.append(
        Figure(
            key="agent_one_shot_p50_vs_two_exchanges",
            group=GROUP,
            name="A one-shot redeem through the lane agent p50",
            value=percentile(one_shot_ms, 50),
            unit="ms",
            against=Against("peer", "bare inquiry + bare POST p50", percentile(both, 50)),
            samples=sales,
            note="the two exchanges with the ledger a one-shot sale needs, made bare",
        )
    )
    figures.extend(
        Figure(
            key=f"agent_p{q}_vs_spawned",
            group=GROUP,
            name=f"{name} p{q}",
            value=percentile(agent_ms, q),
            unit="ms",
            against=Against("peer", f"a spawned pos-client redeem p{q}", percentile(spawned_ms, q)),
            samples=len(spawned_ms),
            note="what a chain's software paid per sale before the agent: a process each",
        )
        for q in (50, 99)
    )
    return figures
