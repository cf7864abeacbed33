"""The benchmark's figures: a measured value beside the limit or peer that bounds it.

A :class:`Figure` is one row of the ``pos-client bench`` table: what was
measured, its value, what it is compared with (``against``: the physical
limit, or a peer doing the same job), the ratio of the two, the goal and
whether it was met. Absolute times vary between machines; the ratios are what
is tracked. :func:`percentile` and :func:`rate` turn samples into values, and
:func:`render_table` and :func:`to_json` present a run.

Imports the standard library only.
"""

from __future__ import annotations

import math
import os
import platform
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "Against",
    "Figure",
    "Goal",
    "machine",
    "machine_line",
    "percentile",
    "rate",
    "render_report",
    "render_table",
    "to_json",
]

Role = Literal["limit", "peer"]
GoalKind = Literal["value_below", "ratio_at_most", "ratio_below", "ratio_at_least"]


def percentile(samples: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``samples``, by the nearest-rank method."""
    if not samples:
        raise ValueError("no samples")
    if not 0 <= q <= 100:
        raise ValueError("q is 0 to 100")
    ordered = sorted(samples)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def rate(count: int, seconds: float) -> float:
    """Items per second."""
    if seconds <= 0:
        raise ValueError("a duration must be positive")
    return count / seconds


@dataclass(frozen=True, slots=True)
class Against:
    """What a figure is compared with: a limit (a floor or ceiling) or a peer."""

    role: Role
    name: str
    value: float


@dataclass(frozen=True, slots=True)
class Goal:
    """What the figure should reach. ``threshold`` is in the figure's unit or is a ratio."""

    kind: GoalKind
    threshold: float
    text: str

    def met(self, value: float, ratio: float | None) -> bool | None:
        if self.kind == "value_below":
            return value < self.threshold
        if ratio is None:
            return None
        if self.kind == "ratio_at_most":
            return ratio <= self.threshold
        if self.kind == "ratio_below":
            return ratio < self.threshold
        return ratio >= self.threshold


@dataclass(frozen=True, slots=True)
class Figure:
    """One measured figure beside what bounds it."""

    key: str
    group: str
    name: str
    value: float
    unit: str
    against: Against | None = None
    goal: Goal | None = None
    samples: int = 0
    note: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        """``value / against.value`` (for a rate, above 1 is faster than what it is beside)."""
        if self.against is None or self.against.value == 0:
            return None
        return self.value / self.against.value

    @property
    def met(self) -> bool | None:
        return None if self.goal is None else self.goal.met(self.value, self.ratio)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Figure:
        against, goal = data.get("against"), data.get("goal")
        return cls(
            key=data["key"],
            group=data["group"],
            name=data["name"],
            value=data["value"],
            unit=data["unit"],
            against=None
            if against is None
            else Against(against["role"], against["name"], against["value"]),
            goal=None if goal is None else Goal(goal["kind"], goal["threshold"], goal["text"]),
            samples=data.get("samples", 0),
            note=data.get("note", ""),
            details=data.get("details", {}),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "group": self.group,
            "name": self.name,
            "value": self.value,
            "unit": self.unit,
            "against": None
            if self.against is None
            else {
                "role": self.against.role,
                "name": self.against.name,
                "value": self.against.value,
            },
            "ratio": self.ratio,
            "goal": None
            if self.goal is None
            else {"kind": self.goal.kind, "threshold": self.goal.threshold, "text": self.goal.text},
            "met": self.met,
            "samples": self.samples,
            "note": self.note,
            "details": self.details,
        }


def machine() -> dict[str, Any]:
    """The machine a run is on: architecture, CPU model, cores, Python."""
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.lower().startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "arch": platform.machine(),
        "cpu": cpu,
        "cores": os.cpu_count() or 0,
        "python": platform.python_version(),
        "implementation": sys.implementation.name,
        "system": f"{platform.system()} {platform.release()}",
    }


def _number(value: float, unit: str = "") -> str:
    if value == 0:
        text = "0"
    elif abs(value) >= 1000:
        text = f"{value:,.0f}"
    elif abs(value) >= 100:
        text = f"{value:.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    elif abs(value) >= 1:
        text = f"{value:.2f}"
    else:
        text = f"{value:.3f}"
    return f"{text} {unit}".rstrip()


def _cells(figure: Figure) -> list[str]:
    against = "—"
    if figure.against is not None:
        against = (
            f"{figure.against.role}: {figure.against.name} "
            f"{_number(figure.against.value, figure.unit)}"
        )
    ratio = "—" if figure.ratio is None else f"{figure.ratio:.2f}x"
    goal = "—" if figure.goal is None else figure.goal.text
    met = {True: "yes", False: "NO", None: "—"}[figure.met]
    return [figure.name, _number(figure.value, figure.unit), against, ratio, goal, met]


HEADERS = ("figure", "value", "limit / peer", "ratio", "goal", "met?")


def render_table(figures: Sequence[Figure], *, markdown: bool = False) -> str:
    """The figures as a text table (or a Markdown one)."""
    rows = [_cells(f) for f in figures]
    if markdown:
        lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
        lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in r) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(HEADERS)]
    out = ["  ".join(h.ljust(w) for h, w in zip(HEADERS, widths, strict=True))]
    out.append("  ".join("-" * w for w in widths))
    for r in rows:
        out.append("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    return "\n".join(out)


def machine_line(info: dict[str, Any]) -> str:
    return (
        f"{info.get('arch')} · {info.get('cpu')} · {info.get('cores')} cores · "
        f"Python {info.get('python')} · {info.get('system')}"
    )


def render_report(result: dict[str, Any], *, markdown: bool = False) -> str:
    """A run (as :func:`to_json` made it) for people: the machine, the table, any failures."""
    figures = [Figure.from_json(f) for f in result["figures"]]
    mode = "quick" if result.get("quick") else "full"
    head = f"{machine_line(result['machine'])} · {mode} run, {result['seconds']:.0f} s"
    parts = [head, "", render_table(figures, markdown=markdown)]
    missed = [f for f in figures if f.met is False]
    if missed:
        parts += ["", "Missed: " + "; ".join(f"{f.name} ({f.key})" for f in missed)]
    for error in result.get("errors", []):
        parts.append(f"FAILED {error['group']}: {error['error']}")
    return "\n".join(parts)


def to_json(
    figures: Sequence[Figure],
    *,
    quick: bool,
    seconds: float,
    machine_info: dict[str, Any],
    errors: Sequence[dict[str, str]] = (),
) -> dict[str, Any]:
    """The machine-readable run: the machine, the mode and every figure."""
    return {
        "machine": machine_info,
        "quick": quick,
        "seconds": seconds,
        "figures": [f.to_json() for f in figures],
        "errors": list(errors),
    }
