"""What one answer from the ledger does to a redemption: the one rule, as a pure function.

Every path that sends a redemption (the sale at the counter, the recovery
after a crash, the forwarder's single items and batches, a void of an offline
sale) asks :func:`decide` what an answer means and does what the
:class:`Decision` says; none has a rule of its own.

The rule, in short:

- an approval is recorded and leaves the outbox; when the terminal had let the
  sale go ahead on its own approval (offline) and the ledger takes less, a
  problem says what the shop must collect (all of it for a decline, the
  difference for a partial approval);
- a problem document (``4xx``) the ledger answered about the request itself is
  a decline that changed nothing at the ledger. Whatever its code, a person can
  see it in the problems list. If the sale went ahead offline, what the
  terminal approved is money to collect; if it was seen at the counter before
  the sale went ahead, the cashier was told and there is nothing to collect;
- ``401``/``403`` say the ledger refuses this terminal: in the background
  nothing changes and forwarding stops until a person acts; at the counter the
  sale does not go ahead;
- ``409 idempotency_conflict``: the ledger holds another body under this id;
  it is asked by id first and its record wins;
- ``429`` and an unreachable ledger leave the redemption as it is (sent again
  later); no answer, a dropped connection or a ``5xx`` make the outcome unknown,
  resolved by ``GET /v1/redemptions/{id}`` and never guessed.

Pure: imports only the standard library and the domain.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pos_client.domain.states import RedemptionStatus, SaleStatus

__all__ = [
    "AUTH_STATUSES",
    "Answer",
    "AnswerKind",
    "Decision",
    "EntryFacts",
    "ProblemToFile",
    "decide",
]

#: The ledger refuses this terminal (its token): a person must act.
AUTH_STATUSES = frozenset({401, 403})
_S = RedemptionStatus


class AnswerKind(StrEnum):
    APPROVED = "approved"
    PARTIALLY_APPROVED = "partially_approved"
    DECLINED = "declined"  # a redemption answer with status declined (and a reason)
    PROBLEM = "problem"  # a problem document: HTTP status and code
    UNAVAILABLE = "unavailable"  # never reached the ledger, or not processed (429, 503)
    UNKNOWN = "unknown"  # it may have reached the ledger: no answer, dropped, 5xx


@dataclass(frozen=True, slots=True)
class EntryFacts:
    """What the rule needs to know about the redemption the answer is about.

    ``went_ahead_offline``: the goods left on the terminal's own approval.
    ``at_counter``: the answer comes while the cashier waits for it (nothing
    went ahead yet unless offline); else the outbox delivers it in the background.
    """

    went_ahead_offline: bool
    covered_rial: int
    identity_kind: str = "token"
    mode: str = "online"
    at_counter: bool = False

    @property
    def offline(self) -> bool:
        return self.went_ahead_offline or self.mode == "offline"


@dataclass(frozen=True, slots=True)
class Answer:
    """One answer, reduced to what the rule looks at."""

    kind: AnswerKind
    covered_rial: int = 0
    reason: str | None = None
    http_status: int | None = None
    code: str | None = None
    detail: str = ""
    after_conflict: bool = False  # the ledger's record, read after a 409 idempotency_conflict


@dataclass(frozen=True, slots=True)
class ProblemToFile:
    """A problem for a person: ``kind``, what the shop must collect and why."""

    kind: str
    collect_rial: int
    detail: str

    def as_tuple(self) -> tuple[str, int, str]:
        return (self.kind, self.collect_rial, self.detail)


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do with the journal, the outbox and the problems list.

    ``status``: the journal's new state (None: unchanged). ``leaves_outbox``:
    the outbox owes the ledger nothing more. ``release_token``: the QR token
    was not used after all (may be shown again). ``problem``: to file, with
    what to collect. ``told``: what the cashier is told (None: the offline
    rules decide, or nobody is waiting). ``lookup_first``: ask the ledger by id
    and decide on its record. ``stop``: the ledger refuses this terminal;
    forwarding stops. ``retry``: send again later; ``resolve_by_id``: the
    outcome is unknown.
    """

    status: RedemptionStatus | None
    leaves_outbox: bool = False
    release_token: bool = False
    problem: ProblemToFile | None = None
    told: SaleStatus | None = None
    lookup_first: bool = False
    stop: bool = False
    retry: bool = False
    resolve_by_id: bool = False

    @property
    def collect_rial(self) -> int:
        return self.problem.collect_rial if self.problem is not None else 0


def _final(facts: EntryFacts, answer: Answer) -> Decision:
    offline = facts.offline
    problem: ProblemToFile | None = None
    if answer.kind is AnswerKind.DECLINED:
        if offline:
            problem = ProblemToFile(
                "declined_after_offline",
                facts.covered_rial,
                "declined by the ledger after an offline approval"
                f" ({answer.reason or 'no reason'})",
            )
        status, told = _S.DECLINED, SaleStatus.DECLINED
    else:
        if offline and answer.covered_rial < facts.covered_rial:
            problem = ProblemToFile(
                "partially_approved",
                facts.covered_rial - answer.covered_rial,
                "the ledger paid less than the terminal approved offline",
            )
        if answer.kind is AnswerKind.APPROVED:
            status, told = _S.APPROVED, SaleStatus.APPROVED
        else:
            status, told = _S.PARTIALLY_APPROVED, SaleStatus.PARTIALLY_APPROVED
    if answer.after_conflict and problem is None:
        problem = ProblemToFile(
            "idempotency_conflict",
            0,
            "the ledger kept an earlier body under this id; its answer was recorded",
        )
    return Decision(
        status=status,
        leaves_outbox=True,
        release_token=answer.kind is AnswerKind.DECLINED and not offline,
        problem=problem,
        told=told,
    )


def _problem_document(facts: EntryFacts, answer: Answer) -> Decision:
    status = answer.http_status or 0
    code = answer.code or "rejected"
    if status == 429:
        return Decision(status=None, retry=True)
    if status in AUTH_STATUSES and not facts.at_counter:
        return Decision(status=None, stop=True)
    if code == "idempotency_conflict" and not answer.after_conflict:
        return Decision(status=None, lookup_first=True)
    offline = facts.offline
    collect = facts.covered_rial if offline else 0
    if offline:
        why = "the sale went ahead offline: collect what the terminal approved"
    elif facts.at_counter:
        why = "the cashier was told; nothing went ahead"
    else:
        why = "nothing went ahead"
    return Decision(
        status=_S.DECLINED,
        leaves_outbox=True,
        release_token=not offline,
        problem=ProblemToFile("rejected", collect, f"{status} {code}: {answer.detail} ({why})"),
        told=SaleStatus.DECLINED,
    )


def decide(facts: EntryFacts, answer: Answer) -> Decision:
    """What ``answer`` does to the redemption ``facts`` describe (see the module docstring)."""
    kind = answer.kind
    if kind in (AnswerKind.APPROVED, AnswerKind.PARTIALLY_APPROVED, AnswerKind.DECLINED):
        return _final(facts, answer)
    if kind is AnswerKind.PROBLEM:
        return _problem_document(facts, answer)
    if kind is AnswerKind.UNAVAILABLE:
        return Decision(status=None, retry=True)
    # Unknown: resolved by id, never guessed. A sale that went ahead offline stays so.
    return Decision(
        status=_S.UNKNOWN_OUTCOME if facts.at_counter and not facts.offline else None,
        resolve_by_id=True,
        told=SaleStatus.UNKNOWN if facts.at_counter else None,
    )
