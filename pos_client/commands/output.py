"""How the commands print many rows: streamed, in constant memory, a few large writes.

Every command that lists or exports (``journal export``, ``queue list``,
``problems list``, ``recover``) prints through :func:`emit_rows`, in one of
three forms (:func:`add_format_options` adds the options):

- ``--json``: ONE JSON array, written as the rows come (``[`` with the first
  chunk, ``]`` after the last; ``[]`` when there is none). Byte for byte what
  ``json.dump`` of the whole list printed before, without holding the list.
- ``--ndjson``: one JSON object per line (nothing at all when there is none),
  for a chain's pipelines (``jq -c``, a line at a time).
- otherwise, one line of text per row (and a sentence when there is none).

Rows are encoded one at a time and gathered into a chunk of about
:data:`CHUNK_BYTES`, written to standard output's binary layer in one call and
flushed: a few large writes whatever standard output's buffering (``python
-u`` and ``PYTHONUNBUFFERED``, common under services and containers, would
otherwise make one write per JSON token), and memory bounded by one chunk and
the store's page.

When reading the rows fails part way, the whole rows gathered so far are
written, the error goes on to the command line (one sentence on standard error,
a non-zero exit status) and the JSON array is left open: a reader's parser
refuses it rather than take a partial export for a whole one. NDJSON lines
written are each whole, never cut in the middle. A reader that went away
(``| head``) stops the writing at once (see :mod:`pos_client.cli`).

JSON is UTF-8 (RFC 8259) whatever the terminal's encoding; text lines take
standard output's encoding.

Imports the standard library only.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable
from typing import Any, BinaryIO, TextIO, TypeVar

__all__ = ["CHUNK_BYTES", "FORMATS", "RowWriter", "add_format_options", "emit_rows", "row_format"]

T = TypeVar("T")

#: About how many bytes are gathered before one write (a few rows of a journal export).
CHUNK_BYTES = 64 * 1024

#: The forms rows are printed in.
FORMATS = ("text", "json", "ndjson")


def add_format_options(parser: argparse.ArgumentParser, *, what: str = "rows") -> None:
    """``--json`` (one array) or ``--ndjson`` (one object a line), never both."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--json", action="store_true", help=f"print the {what} as one JSON array")
    group.add_argument(
        "--ndjson", action="store_true", help=f"print the {what} as JSON, one object a line"
    )


def row_format(args: argparse.Namespace) -> str:
    """The form ``args`` ask for: ``"json"``, ``"ndjson"`` or ``"text"``."""
    if getattr(args, "ndjson", False):
        return "ndjson"
    if getattr(args, "json", False):
        return "json"
    return "text"


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=None, separators=(",", ":"))


class RowWriter:
    """Writes rows to a stream in chunks: see the module docstring.

    ``out`` is a text stream (standard output by default); its binary layer is
    written when it has one, after whatever text it still held.
    """

    def __init__(self, fmt: str, *, out: TextIO | None = None) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown row format {fmt!r}")
        self.format = fmt
        self.count = 0
        self._text = out if out is not None else sys.stdout
        self._binary: BinaryIO | None = getattr(self._text, "buffer", None)
        encoding = getattr(self._text, "encoding", None) or "utf-8"
        self._encoding = "utf-8" if fmt != "text" else encoding
        self._errors = (
            "strict" if fmt != "text" else (getattr(self._text, "errors", None) or "strict")
        )
        self._chunk = bytearray()

    def add(self, row: Any) -> None:
        """One row: a JSON value (``json``, ``ndjson``) or a line of text (``text``)."""
        if self.format == "text":
            piece = f"{row}\n"
        elif self.format == "ndjson":
            piece = _json(row) + "\n"
        else:
            piece = ("[" if self.count == 0 else ",") + _json(row)
        self._chunk += piece.encode(self._encoding, self._errors)
        self.count += 1
        if len(self._chunk) >= CHUNK_BYTES:
            self._write()

    def close(self, *, empty_text: str | None = None) -> None:
        """After the last row: close the array (``[]`` if none), or say there was none."""
        if self.format == "json":
            self._chunk += b"[]\n" if self.count == 0 else b"]\n"
        elif self.format == "text" and self.count == 0 and empty_text is not None:
            self._chunk += f"{empty_text}\n".encode(self._encoding, self._errors)
        self._write()

    def abandon(self) -> None:
        """Reading failed part way: write the whole rows gathered, close nothing."""
        self._write()

    def _write(self) -> None:
        if not self._chunk:
            return
        data = bytes(self._chunk)
        self._chunk.clear()
        if self._binary is not None:
            self._text.flush()
            self._binary.write(data)
            self._binary.flush()
        else:
            self._text.write(data.decode(self._encoding, self._errors))
            self._text.flush()


def emit_rows(
    rows: Iterable[T],
    fmt: str,
    *,
    to_json: Callable[[T], Any],
    to_text: Callable[[T], str],
    empty_text: str | None = None,
    out: TextIO | None = None,
) -> int:
    """Print ``rows`` in form ``fmt`` as they come; how many were printed.

    ``to_json`` makes a row's JSON value, ``to_text`` its line of text;
    ``empty_text`` is the sentence printed (in text form only) when there is none.
    """
    writer = RowWriter(fmt, out=out)
    try:
        for row in rows:
            writer.add(to_text(row) if fmt == "text" else to_json(row))
    except BrokenPipeError:
        raise  # the reader went away: write nothing more
    except BaseException:
        try:
            writer.abandon()
        except OSError:
            pass  # the error being raised is the one to tell
        raise
    writer.close(empty_text=empty_text)
    return writer.count


def terminal_qr(text: str, columns: int) -> list[str]:
    """``text`` as a QR code in text (two rows a line, level M), or nothing when it is
    wider than ``columns`` (a code a scanner or a phone reads off the terminal)."""
    import io

    import qrcode

    code = qrcode.QRCode(border=2, error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(text)
    code.make(fit=True)
    if code.modules_count + 2 * code.border > columns:
        return []
    out = io.StringIO()
    code.print_ascii(out=out, invert=True)
    return out.getvalue().splitlines()
