"""The lane's durable store in SQLite, by table family.

- :mod:`.store`: :class:`SqliteStore`, the two files opened together, batches, idle housekeeping;
- :mod:`.journal`: the journal and the outbox (one row per sale), used token ids, offline totals;
- :mod:`.catalog`: the catalog file, prices and scale items;
- :mod:`.meta`: meta values, cached wallets, signed rules and learnt keys;
- :mod:`.problems`: the problems list and the Z reports;
- :mod:`.schema`: every schema version's step and the lane store's own SQL functions;
- :mod:`.db`: one SQLite file's connection, transactions and translated errors;
- :mod:`.identity`: the lane's identity file: a missing or other store is never taken for its own.
"""

from __future__ import annotations

from pos_client.adapters.sqlite.catalog import CatalogLoad, CatalogRefused
from pos_client.adapters.sqlite.db import create_private_file
from pos_client.adapters.sqlite.identity import StoreRefused, open_lane_store
from pos_client.adapters.sqlite.journal import answer_to_json
from pos_client.adapters.sqlite.problems import ZReportRecord
from pos_client.adapters.sqlite.store import SqliteStore

__all__ = [
    "CatalogLoad",
    "CatalogRefused",
    "SqliteStore",
    "StoreRefused",
    "ZReportRecord",
    "answer_to_json",
    "create_private_file",
    "open_lane_store",
]
