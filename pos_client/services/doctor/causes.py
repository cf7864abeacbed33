"""Why something failed, in the report's language.

The drivers, the network and the store explain a failure in English (their
messages are also what the log and ``pos-client config check`` show). An
English report quotes them as they are; a Persian one says the cause in
Persian instead, so no English sentence ends up inside a Persian one. The
cause is recognised from the words our drivers, httpx and SQLite use and from
the operating system's error numbers; what is not recognised becomes "an
unexpected error" and the original words go to the log (``--verbose``).

Imports the standard library and the doctor's texts only.
"""

from __future__ import annotations

import logging
from typing import Final

from pos_client.services.doctor_texts import Lang, say

__all__ = ["cause"]

log = logging.getLogger(__name__)

#: (words that give the cause away, the text key that says it), in the order tried.
_CAUSES: Final[tuple[tuple[tuple[str, ...], str], ...]] = (
    (("libusb",), "cause.libusb"),
    (("disk is full", "no space left", "[errno 28]"), "cause.disk_full"),
    (("rule set is malformed", "not json"), "cause.malformed"),
    (("damaged", "malformed", "not a database", "corrupt"), "cause.damaged"),
    (("read-only", "readonly", "[errno 30]"), "cause.read_only"),
    (
        ("in use by another program", "exclusively lock", "busy", "locked", "[errno 16]"),
        "cause.busy",
    ),
    (
        ("unplugged or switched off", "input/output error", "[errno 5]", "returned no data"),
        "cause.gone",
    ),
    (
        ("permission", "[errno 13]", "access denied", "not permitted", "[errno 1]"),
        "cause.permission",
    ),
    (
        ("is not there", "no such file", "[errno 2]", "not found", "no such device", "[errno 19]"),
        "cause.missing",
    ),
    (("certificate", "ssl", "tls"), "cause.tls"),
    (
        (
            "name or service not known",
            "nodename nor servname",
            "name resolution",
            "getaddrinfo",
            "[errno -2]",
            "[errno -3]",
        ),
        "cause.dns",
    ),
    (("connection refused", "[errno 111]", "all connection attempts failed"), "cause.refused"),
    (("network is unreachable", "no route to host", "[errno 101]", "[errno 113]"), "cause.network"),
    (("timed out", "timeout", "did not answer"), "cause.timeout"),
    (("signature", "signed", "unknown key", "untrusted"), "cause.signature"),
    (
        ("device url", "unknown scale type", "unknown printer type", "unknown scanner type", "url"),
        "cause.bad_url",
    ),
)


def cause(text: str, lang: Lang) -> str:
    """``text`` (an English explanation) for a sentence in ``lang``."""
    if lang == "en":
        return text
    lowered = text.lower()
    for words, key in _CAUSES:
        if any(word in lowered for word in words):
            log.info("doctor: %s", text)
            return say(lang, key)
    log.info("doctor: unrecognised cause: %s", text)
    return say(lang, "cause.other")
