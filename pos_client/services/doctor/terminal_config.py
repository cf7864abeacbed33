"""The terminal config check: which version of the chain's config layers the lane runs on,
and whether the last one the ledger sent was refused (the last good one is then kept). Pure.

Imports the doctor's own modules and texts only.
"""

from __future__ import annotations

from pos_client.services.doctor.base import Check, Verdict
from pos_client.services.doctor.store import StoreFacts
from pos_client.services.doctor_texts import Lang, say

__all__ = ["judge_terminal_config"]

#: The version a ledger serves while the chain has written no layer.
NO_LAYERS = "tc-000000"


def judge_terminal_config(store: StoreFacts | None, *, config: str, lang: Lang) -> Check | None:
    """The running terminal config version, or a refusal (None: nothing to tell)."""
    if store is None or not store.readable:
        return None
    version = store.config_version
    if store.config_error:
        return Check(
            "terminal_config",
            Verdict.WARNING,
            say(lang, "terminal_config.refused", why=store.config_error, version=version or "-"),
            say(lang, "terminal_config.refused.advice", config=config),
        )
    if version is None or version == NO_LAYERS:
        return None  # the chain has set no layer: nothing to tell
    return Check("terminal_config", Verdict.OK, say(lang, "terminal_config.ok", version=version))
