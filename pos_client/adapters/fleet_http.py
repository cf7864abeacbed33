"""The fleet contract's client (``fleet-api.md``): enrolment and a back office's admin calls.

A small synchronous httpx client, used by ``pos-client enrol`` and ``pos-client
fleet``. TLS is verified (``https://``, or ``http://`` on loopback only, as for
the lane's ledger URL). A problem document becomes
:class:`~pos_client.errors.LedgerRejected` carrying its ``code``; no answer at
all becomes :class:`~pos_client.errors.LedgerUnavailable`. Tokens travel only in
the ``Authorization`` header and are never logged (httpx logs URLs only).

Imports httpx, the standard library and the project's errors.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx

from pos_client import __version__
from pos_client.adapters.ledger_http import _check_base_url, parse_retry_after
from pos_client.errors import LedgerRejected, LedgerUnavailable

log = logging.getLogger(__name__)

__all__ = ["FleetHttp"]


class FleetHttp:
    """Calls to one ledger, as a lane being enrolled (no token) or as a merchant's admin."""

    def __init__(
        self,
        url: str,
        *,
        admin_token: str | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 15.0,
    ) -> None:
        self.url = _check_base_url(url.strip())
        headers = {"User-Agent": f"pos-client/{__version__}", "Accept": "application/json"}
        if admin_token is not None:
            headers["Authorization"] = f"Bearer {admin_token}"
        self._client = httpx.Client(
            base_url=self.url, headers=headers, timeout=timeout, transport=transport, verify=True
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> FleetHttp:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _post(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        try:
            response = self._client.post(path, json=body)
        except httpx.HTTPError as exc:
            log.debug("fleet call %s failed: %s", path, type(exc).__name__)
            raise LedgerUnavailable(
                f"the ledger at {self.url} cannot be reached ({type(exc).__name__})"
            ) from None
        try:
            value = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            value = None
        if response.status_code >= 400:
            problem = value if isinstance(value, dict) else {}
            code = problem.get("code") if isinstance(problem.get("code"), str) else None
            detail = problem.get("detail") if isinstance(problem.get("detail"), str) else ""
            if response.status_code in (429, 503) or response.status_code >= 500:
                raise LedgerUnavailable(
                    f"the ledger answered {response.status_code} ({code or 'no problem code'})",
                    retry_after=parse_retry_after(response.headers.get("retry-after")),
                )
            raise LedgerRejected(
                f"the ledger refused it: {code or response.status_code}"
                + (f" ({detail})" if detail else ""),
                status=response.status_code,
                code=code or f"http_{response.status_code}",
                detail=str(detail),
            )
        if not isinstance(value, dict):
            raise LedgerUnavailable(f"the ledger answered {path} with something not JSON")
        return response.status_code, value

    # ------------------------------------------------------------------ the lane

    def start_enrolment(self, *, hostname: str, software_version: str) -> dict[str, Any]:
        return self._post(
            "v1/enrolments", {"hostname": hostname, "software_version": software_version}
        )[1]

    def poll_enrolment(self, device_code: str) -> dict[str, Any]:
        return self._post("v1/enrolments/token", {"device_code": device_code})[1]

    def enrol_with_code(self, code: str, *, hostname: str, software_version: str) -> dict[str, Any]:
        body = {"enrolment_code": code, "hostname": hostname, "software_version": software_version}
        return self._post("v1/enrolments", body)[1]

    # ------------------------------------------------------------------ the back office

    def make_codes(self, *, store_id: str, count: int, ttl_s: int) -> dict[str, Any]:
        body = {"store_id": store_id, "count": count, "ttl_s": ttl_s}
        return self._post("v1/enrolment-codes", body)[1]

    def approve(
        self, user_code: str, *, store_id: str, terminal_id: str | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"user_code": user_code, "store_id": store_id}
        if terminal_id is not None:
            body["terminal_id"] = terminal_id
        return self._post("v1/enrolments/approve", body)[1]

    def deny(self, user_code: str) -> dict[str, Any]:
        return self._post("v1/enrolments/deny", {"user_code": user_code})[1]
