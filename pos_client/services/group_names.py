"""The names of free packages' entitlement groups, in Persian and English.

The contract names a group by its id only (``diaper-s3``); what a shopkeeper
reads, on the screen and on printed receipts, comes from here (Persian per the
project glossary: Persian letters and digits). A group not named here is shown
by its id.

Imports the standard library only.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

__all__ = ["GROUP_NAMES", "group_names"]

GROUP_NAMES: Final[Mapping[str, Mapping[str, str]]] = MappingProxyType(
    {
        "fa": MappingProxyType(
            {
                "diaper-s1": "پوشک سایز ۱",
                "diaper-s2": "پوشک سایز ۲",
                "diaper-s3": "پوشک سایز ۳",
                "diaper-s4": "پوشک سایز ۴",
                "diaper-s5": "پوشک سایز ۵",
                "infant-food": "غذای کودک",
                "hygiene": "بهداشت مادر و کودک",
            }
        ),
        "en": MappingProxyType(
            {
                "diaper-s1": "Diapers size 1",
                "diaper-s2": "Diapers size 2",
                "diaper-s3": "Diapers size 3",
                "diaper-s4": "Diapers size 4",
                "diaper-s5": "Diapers size 5",
                "infant-food": "Infant food",
                "hygiene": "Mother and infant hygiene",
            }
        ),
    }
)


def group_names(lang: str = "fa") -> dict[str, str]:
    """The group names in ``lang`` (``fa`` or ``en``; Persian for anything else)."""
    return dict(GROUP_NAMES.get(lang, GROUP_NAMES["fa"]))
