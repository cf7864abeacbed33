"""Helpers for the sandbox ledger's tests: bodies, identities and reading balances."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import httpx

from pos_client.domain.money import line_amount
from pos_client.sandbox.clock import TEHRAN
from pos_client.sandbox.server import RunningSandbox


def new_id() -> str:
    return str(uuid.uuid4())


def sandbox_now(sb: RunningSandbox) -> datetime:
    return datetime.fromisoformat(sb.sandbox.admin.clock_document()["now"])


def today(sb: RunningSandbox) -> date:
    return sandbox_now(sb).astimezone(TEHRAN).date()


def rules_version(client: httpx.Client) -> str:
    version: str = client.get("/v1/rules").json()["version"]
    return version


def product(
    sb: RunningSandbox, *, category: str | None = None, group: str | None = None
) -> dict[str, Any]:
    for p in sb.info["sample_products"]:
        if category is not None and p["category"] == category:
            return dict(p)
        if group is not None and group in p["groups"]:
            return dict(p)
    raise KeyError(category or group)


def line(p: dict[str, Any], quantity_milli: int = 1000, price: int | None = None) -> dict[str, Any]:
    unit_price = p["price_rial"] if price is None else price
    return {
        "gtin": p["gtin"],
        "quantity_milli": quantity_milli,
        "unit_price_rial": unit_price,
        "amount_rial": line_amount(quantity_milli, unit_price),
    }


def purse_id(sb: RunningSandbox, household: str, label_or_program: str) -> str:
    """The id of a household's purse, by program (``kalabarg``) or label text."""
    for p in sb.household(household)["purses"]:
        if label_or_program in (p["program"], p["label_fa"]) or label_or_program in p["label_fa"]:
            return str(p["id"])
    raise KeyError(label_or_program)


def redemption(
    *,
    beneficiary: dict[str, Any],
    lines: list[dict[str, Any]],
    allocations: list[dict[str, Any]],
    rules: str,
    terminal_id: str = "T-0001",
    mode: str = "online",
    created_at: str | None = None,
    otp: dict[str, str] | None = None,
    redemption_id: str | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": redemption_id or new_id(),
        "terminal_id": terminal_id,
        "created_at": created_at or datetime.now(TEHRAN).replace(microsecond=0).isoformat(),
        "mode": mode,
        "beneficiary": beneficiary,
        "rules_version": rules,
        "lines": lines,
        "allocations": allocations,
    }
    if otp is not None:
        body["otp"] = otp
    return body


def post(client: httpx.Client, body: dict[str, Any], key: str | None = None) -> httpx.Response:
    return client.post("/v1/redemptions", json=body, headers={"Idempotency-Key": key or body["id"]})


def purses(client: httpx.Client, national_id: str) -> dict[str, dict[str, Any]]:
    """The household's purses by id, as an inquiry shows them now."""
    response = client.post("/v1/wallet-inquiries", json={"national_id": national_id})
    assert response.status_code == 200, response.text
    return {p["id"]: p for p in response.json()["purses"]}


def otp(sb: RunningSandbox, client: httpx.Client, national_id: str) -> dict[str, str]:
    """A right OTP answer for a fresh challenge (as the household would type it)."""
    response = client.post("/v1/otp-challenges", json={"national_id": national_id})
    assert response.status_code == 202, response.text
    challenge_id = response.json()["challenge_id"]
    return {"challenge_id": challenge_id, "code": sb.otp_code(challenge_id)}


def simple_spend(
    sb: RunningSandbox,
    client: httpx.Client,
    household: str = "kalabarg",
    amount: int = 1_000_000,
    *,
    terminal_id: str = "T-0001",
    category: str = "rice",
) -> dict[str, Any]:
    """An online redemption body by token paying ``amount`` from the household's tranche."""
    nid = sb.household(household)["national_id"]
    p = product(sb, category=category)
    return redemption(
        beneficiary={"token": sb.mint_token(nid)},
        lines=[line(p)],
        allocations=[
            {"line": 0, "purse_id": purse_id(sb, household, "kalabarg"), "amount_rial": amount}
        ],
        rules=rules_version(client),
        terminal_id=terminal_id,
    )
