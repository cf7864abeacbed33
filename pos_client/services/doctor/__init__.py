"""The lane doctor: checks the config, the store, the ledger and every device, and says what to do.

Used by ``pos-client doctor`` and by the checkout screen's diagnostics. Each
check ends in a frozen :class:`Check` (``name``, ``verdict``, ``detail``,
``advice``) whose verdict is ``ok``, ``warning`` or ``failed``, in English or
Persian (the sentences are the ``doctor`` gettext catalogs,
``pos_client/locale/<lang>/LC_MESSAGES/doctor.po``, asked for by key through
:func:`pos_client.services.doctor_texts.say`). Gathering facts (reading the
store, asking the ledger, opening a device) is kept apart from judging them:
the ``judge_*`` functions are pure and take the facts and "now" as arguments.

Checks, in order::

    config    the file's permissions and trusted keys (an unreadable config is
              :func:`config_unreadable`; the command exits 2 for it)
    store     opened read-only: waiting sales, problems, free disk space, a
              catalog taken that dropped a large share of the products
    ledger    GET /v1/health answers
    clock     this computer's clock against the ledger's
    token     GET /v1/rules is answered, not 401/403
    rules     the ledger's rules pass the signature check with the keys the
              lane trusts now (never a withdrawn one); the lane's cached
              rules are current and not past valid_until
    catalog   the lane's catalog is the version the rules name
    scanner:URL  opened (and live scans shown for a few seconds, on request)
    printer:URL  asked for its status (and a test page printed, on request)
    scale:URL    asked for a weight once

The doctor never raises: every failure, expected or not, becomes a failed
:class:`Check`. It writes nothing to the store, never records a contact with
the ledger, and never shows the terminal's token or a full national ID (scans
other than products are shown masked).

One module per check, all pure judges beside what gathers their facts:
:mod:`.base` (verdicts, checks, the report), :mod:`.config`, :mod:`.store`,
:mod:`.ledger` (ledger, clock, token), :mod:`.rules` (rules, catalog),
:mod:`.devices` (scanners, printer, scale), :mod:`.causes` (a failure's cause
in the report's language) and :mod:`.runner` (:class:`Doctor`, which runs them
in order). The names below are re-exported here.

Imports the standard library, the config, the domain, the project's errors
and :mod:`pos_client.services.refresh`; the ledger, the store and the devices
are handed in (see :func:`pos_client.compose.build_doctor`).
"""

from __future__ import annotations

from pos_client.services.doctor.base import Check, Report, SeenScan, Verdict
from pos_client.services.doctor.config import (
    config_unreadable,
    judge_config,
    peek_language,
    read_config,
)
from pos_client.services.doctor.devices import (
    DeviceOpeners,
    judge_printer,
    judge_scale,
    mask_scan,
)
from pos_client.services.doctor.ledger import (
    DoctorLedger,
    LedgerFacts,
    judge_clock,
    judge_ledger,
    judge_token,
)
from pos_client.services.doctor.rules import judge_catalog, judge_rules
from pos_client.services.doctor.runner import Doctor
from pos_client.services.doctor.store import DoctorStore, StoreFacts, judge_store
from pos_client.services.doctor_texts import label

__all__ = [
    "Check",
    "DeviceOpeners",
    "Doctor",
    "DoctorLedger",
    "DoctorStore",
    "LedgerFacts",
    "Report",
    "SeenScan",
    "StoreFacts",
    "Verdict",
    "config_unreadable",
    "judge_catalog",
    "judge_clock",
    "judge_config",
    "judge_ledger",
    "judge_printer",
    "judge_rules",
    "judge_scale",
    "judge_store",
    "judge_token",
    "label",
    "mask_scan",
    "peek_language",
    "read_config",
]
