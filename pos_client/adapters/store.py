"""The lane's durable store, under the name its callers know: see :mod:`pos_client.adapters.sqlite`.

Imports the sibling package only.
"""

from __future__ import annotations

from pos_client.adapters.sqlite.catalog import CatalogLoad, CatalogRefused
from pos_client.adapters.sqlite.db import create_private_file
from pos_client.adapters.sqlite.journal import answer_to_json
from pos_client.adapters.sqlite.problems import ZReportRecord
from pos_client.adapters.sqlite.schema import (
    CATALOG_SCHEMA_V1 as _CATALOG_SCHEMA_V1,
)
from pos_client.adapters.sqlite.schema import (
    CATALOG_SCHEMA_VERSION,
    CHECKPOINT_AFTER_COMMITS,
    LANE_WAL_AUTOCHECKPOINT,
    OPEN_MARK_SLACK,
    READABLE_FROM,
    SCHEMA_VERSION,
)
from pos_client.adapters.sqlite.schema import SCHEMA_V1 as _SCHEMA_V1
from pos_client.adapters.sqlite.schema import SCHEMA_V2 as _SCHEMA_V2
from pos_client.adapters.sqlite.schema import SCHEMA_V3 as _SCHEMA_V3
from pos_client.adapters.sqlite.store import SqliteStore

__all__ = [
    "CATALOG_SCHEMA_VERSION",
    "CHECKPOINT_AFTER_COMMITS",
    "LANE_WAL_AUTOCHECKPOINT",
    "OPEN_MARK_SLACK",
    "READABLE_FROM",
    "SCHEMA_VERSION",
    "_CATALOG_SCHEMA_V1",
    "_SCHEMA_V1",
    "_SCHEMA_V2",
    "_SCHEMA_V3",
    "CatalogLoad",
    "CatalogRefused",
    "SqliteStore",
    "ZReportRecord",
    "answer_to_json",
    "create_private_file",
]
