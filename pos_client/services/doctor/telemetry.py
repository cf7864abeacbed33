"""The telemetry check: does the chain's broker take this lane (one connection, nothing published).

Pure: the facts (:class:`~pos_client.ports.TelemetryStatus`, from one try with
the lane's own credentials) come in. A lane with no broker configured is told
nothing. Every finding is a warning at most: telemetry never stops a sale.

Imports the ports and the doctor's own modules and texts only.
"""

from __future__ import annotations

from dataclasses import dataclass

from pos_client.ports import TelemetryStatus
from pos_client.services.doctor.base import Check, Verdict
from pos_client.services.doctor_texts import Lang, say

__all__ = ["TelemetryFacts", "judge_telemetry"]


@dataclass(frozen=True, slots=True)
class TelemetryFacts:
    """What the doctor learnt of the lane's broker (``status`` None: not tried)."""

    url: str
    user: str
    complete: bool  # the topic's merchant and store are known
    status: TelemetryStatus | None = None


def judge_telemetry(facts: TelemetryFacts | None, *, config: str, lang: Lang) -> Check | None:
    if facts is None or not facts.url:
        return None
    if not facts.complete:
        return Check(
            "telemetry",
            Verdict.WARNING,
            say(lang, "telemetry.incomplete"),
            say(lang, "telemetry.incomplete.advice", config=config),
        )
    status = facts.status
    if status is None or status.connected:
        return Check(
            "telemetry", Verdict.OK, say(lang, "telemetry.ok", url=facts.url, user=facts.user)
        )
    problem = status.problem or "unreachable"
    if problem == "not_authorised":
        return Check(
            "telemetry",
            Verdict.WARNING,
            say(lang, "telemetry.not_authorised", url=facts.url, user=facts.user),
            say(lang, "telemetry.not_authorised.advice", config=config),
        )
    key = "telemetry.tls" if problem == "tls" else "telemetry.unreachable"
    return Check(
        "telemetry",
        Verdict.WARNING,
        say(lang, key, url=facts.url, why=status.detail or problem),
        say(lang, f"{key}.advice", config=config),
    )
