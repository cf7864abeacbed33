"""Right-to-left text in a terminal: the lane's ``rtl = app | terminal`` setting.

Textual lays text out left to right, one cell per character, and most terminals
print what they are given in that order. Persian needs two things a terminal may
or may not do itself:

- *shaping*: a Persian letter takes a different form at the start, middle and
  end of a word (arabic-reshaper turns letters into their presentation forms);
- *ordering*: the Unicode bidirectional algorithm puts right-to-left runs in
  visual order, while numbers, IDs and Latin words inside them stay left to
  right (python-bidi).

``RtlMode.APP`` does both here, for terminals that do no bidi of their own
(most of them): every line the UI shows is shaped and put in visual order,
mirrored characters (brackets) are mirrored where they run right to left, and
bidi controls and joiners are dropped so that every character takes one cell.
``RtlMode.TERMINAL`` passes the logical text through for terminals that do bidi
themselves (mlterm, Konsole, VTE with bidi on).

Text is wrapped to a width *before* it is ordered (:func:`render_lines`):
ordering a paragraph first and wrapping it afterwards would put its end on the
first line.

Numbers, IDs and codes inside Persian text are kept left to right by wrapping
them in the isolates LRI … PDI (:func:`ltr`); without them a masked national ID
such as ``049*****99`` would come out as ``99*****049``.

This module imports python-bidi, arabic-reshaper and rich's cell widths; never
textual, so it is tested on its own.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum
from functools import lru_cache
from typing import Final, Literal

import arabic_reshaper
from bidi import get_base_level, get_display
from bidi.mirror import MIRRORED
from rich.cells import cell_len

__all__ = [
    "LRI",
    "PDI",
    "RLI",
    "Direction",
    "RtlMode",
    "base_of",
    "has_rtl",
    "isolate_latin",
    "ltr",
    "render_line",
    "render_lines",
    "rtl_isolate",
    "visual",
    "wrap",
]

LRI: Final = "\u2066"  # left-to-right isolate
RLI: Final = "\u2067"  # right-to-left isolate
FSI: Final = "\u2068"  # first-strong isolate
PDI: Final = "\u2069"  # pop directional isolate

#: Characters that steer the bidi algorithm or joining and take no cell of their own.
_CONTROLS: Final = frozenset(
    "\u200c\u200d"  # zero-width non-joiner, joiner (shaping already used them)
    "\u200e\u200f\u061c"  # LRM, RLM, ALM
    "\u202a\u202b\u202c\u202d\u202e"  # LRE, RLE, PDF, LRO, RLO
    "\u2066\u2067\u2068\u2069"  # LRI, RLI, FSI, PDI
)
_CONTROLS_TABLE: Final = {ord(ch): None for ch in _CONTROLS}

Direction = Literal["rtl", "ltr"]

_LEVELS_RE: Final = re.compile(r"levels:\s*\[(?P<body>.*?)\]\s*,\s*paragraphs", re.DOTALL)
_LEVEL_RE: Final = re.compile(r"Level\(\s*(\d+)\s*,?\s*\)")

_RESHAPER: Final = arabic_reshaper.ArabicReshaper(
    configuration={"delete_harakat": False, "support_ligatures": True}
)


class RtlMode(StrEnum):
    """Who puts right-to-left text in order: this program or the terminal."""

    APP = "app"
    TERMINAL = "terminal"


def ltr(text: str) -> str:
    """``text`` wrapped in LRI … PDI, so that it stays left to right inside Persian."""
    return f"{LRI}{text}{PDI}"


def rtl_isolate(text: str) -> str:
    """``text`` wrapped in FSI … PDI: a Persian name (or a label with one) inside a
    left-to-right line, in the direction of its own first letter."""
    return f"{FSI}{text}{PDI}"


def base_of(text: str) -> Direction:
    """The direction of a paragraph by its first strong letter (left to right if none)."""
    if not text or not has_rtl(text):
        return "ltr"
    return "rtl" if get_base_level(text) == 1 else "ltr"


def isolate_latin(text: str) -> str:
    """Persian text from elsewhere with its Latin runs (paths, URLs, versions) kept left to right.

    Each run of space-separated words without right-to-left letters, but with
    a Latin letter or an ASCII digit, is wrapped in LRI … PDI (Persian
    punctuation ending a word stays outside); text already inside an isolate
    is left alone.
    """
    if not has_rtl(text):
        return text
    out: list[str] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            out.append(ltr(" ".join(run)))
            run.clear()

    for raw in _protect_isolates(text).split(" "):
        word = raw.replace("\x00", " ")
        core = word.rstrip("،؛؟")
        tail = word[len(core) :]
        latin = any(ch.isascii() and ch.isalnum() for ch in core)
        plain = bool(core) and not has_rtl(core) and LRI not in core and RLI not in core
        if plain and (latin or (run and not core.strip("-:/.,()"))):
            run.append(core)
            if tail:
                flush()
                out[-1] += tail
        else:
            flush()
            out.append(word)
    flush()
    return " ".join(out)


def has_rtl(text: str) -> bool:
    """Whether ``text`` holds a right-to-left letter (Persian, Arabic, Hebrew)."""
    return any(unicodedata.bidirectional(ch) in ("R", "AL") for ch in text)


def strip_controls(text: str) -> str:
    """``text`` without bidi controls and joiners."""
    return text.translate(_CONTROLS_TABLE)


def _char_levels(text: str, base: Direction) -> list[int] | None:
    """The resolved embedding level of each character, or None if they cannot be read.

    python-bidi's Rust engine knows isolates (needed for LTR numbers and IDs) but
    neither mirrors brackets nor exposes levels except in its debug output, one
    level per UTF-8 byte; the first byte of each character gives its level.
    """
    debug = get_display(text, base_dir="R" if base == "rtl" else "L", debug=True)
    match = _LEVELS_RE.search(str(debug))
    if match is None:
        return None
    byte_levels = [int(level) for level in _LEVEL_RE.findall(match.group("body"))]
    if len(byte_levels) != len(text.encode("utf-8")):
        return None
    levels: list[int] = []
    offset = 0
    for ch in text:
        levels.append(byte_levels[offset])
        offset += len(ch.encode("utf-8"))
    return levels


def _reorder(chars: list[str], levels: list[int]) -> list[str]:
    """Rule L2 of the bidi algorithm: reverse runs from the highest level down to 1."""
    if not levels:
        return chars
    lowest_odd = min(level for level in levels) | 1
    order = list(range(len(chars)))
    for level in range(max(levels), lowest_odd - 1, -1):
        i = 0
        while i < len(order):
            if levels[order[i]] >= level:
                j = i
                while j < len(order) and levels[order[j]] >= level:
                    j += 1
                order[i:j] = reversed(order[i:j])
                i = j
            else:
                i += 1
    return [chars[k] for k in order]


@lru_cache(maxsize=4096)
def visual(text: str, *, base: Direction = "rtl") -> str:
    """One line of logical text, shaped and in visual (left-to-right cell) order.

    ``base`` is the paragraph direction: ``"rtl"`` for the Persian interface,
    ``"ltr"`` for the English one (a Persian product name inside it is still
    shaped and reversed). Bidi controls and joiners are dropped after use.
    Text without right-to-left letters is returned as it is, less its controls.
    """
    line = text.replace("\n", " ")
    if not has_rtl(line) and base == "ltr":
        return strip_controls(line)
    shaped = _RESHAPER.reshape(line) if has_rtl(line) else line
    levels = _char_levels(shaped, base)
    if levels is None:  # an unexpected python-bidi: order without mirroring
        return strip_controls(str(get_display(shaped, base_dir="R" if base == "rtl" else "L")))
    base_level = 1 if base == "rtl" else 0
    chars = list(shaped)
    # Rule L1: trailing whitespace and isolate controls go back to the paragraph level.
    k = len(chars)
    while k > 0 and (chars[k - 1].isspace() or chars[k - 1] in _CONTROLS):
        levels[k - 1] = base_level
        k -= 1
    # Rule L4: a mirrored character at an odd (right-to-left) level shows its mirror glyph.
    chars = [
        MIRRORED.get(ch, ch) if level % 2 else ch for ch, level in zip(chars, levels, strict=True)
    ]
    return strip_controls("".join(_reorder(chars, levels)))


def render_line(text: str, *, mode: RtlMode, base: Direction = "rtl") -> str:
    """One line as the terminal should receive it under ``mode``."""
    if mode is RtlMode.APP:
        return visual(text, base=base)
    return text.replace("\n", " ")


def _width(text: str) -> int:
    return cell_len(strip_controls(text))


def _split_word(word: str, width: int) -> list[str]:
    """A word longer than ``width`` cells, cut into pieces of at most ``width`` cells."""
    pieces: list[str] = []
    current = ""
    for ch in word:
        if current and _width(current + ch) > width:
            pieces.append(current)
            current = ""
        current += ch
    if current:
        pieces.append(current)
    return pieces


def wrap(text: str, width: int) -> list[str]:
    """Logical text broken into lines of at most ``width`` cells, at spaces.

    Explicit newlines are kept; a word longer than a line is cut. An isolate
    (LRI … PDI) is never split across lines so a number stays whole.
    """
    width = max(1, width)
    lines: list[str] = []
    for paragraph in text.split("\n"):
        words = _protect_isolates(paragraph).split(" ")
        current = ""
        for raw_word in words:
            word = raw_word.replace("\x00", " ")
            candidate = f"{current} {word}" if current else word
            if _width(candidate) <= width:
                current = candidate
                continue
            if current:
                lines.append(current)
            if _width(word) <= width:
                current = word
            else:
                *full, current = _split_word(word, width)
                lines.extend(full)
        lines.append(current)
    return lines


def _protect_isolates(text: str) -> str:
    """Spaces inside LRI … PDI replaced by NUL so :func:`wrap` does not break there."""
    out: list[str] = []
    depth = 0
    for ch in text:
        if ch in (LRI, RLI, FSI):
            depth += 1
        elif ch == PDI and depth:
            depth -= 1
        out.append("\x00" if ch == " " and depth else ch)
    return "".join(out)


def render_lines(text: str, *, width: int, mode: RtlMode, base: Direction = "rtl") -> list[str]:
    """``text`` wrapped to ``width`` cells, each line as the terminal should receive it."""
    return [render_line(line, mode=mode, base=base) for line in wrap(text, width)]
