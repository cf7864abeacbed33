"""Values of the contract with the central ledger, as frozen dataclasses.

These mirror ``ledger-api.md``: rule set, categories, programmes, catalog
products, the wallet with its purses, basket lines and allocations. Money is
always an ``int`` of Rials, quantities an ``int`` of thousandths of the unit
(``quantity_milli``). Times are timezone-aware ``datetime`` values; nothing here
reads the clock: whoever needs "now" is handed it.

Parsing wire JSON into these values lives in :mod:`pos_client.domain.contract`.
This module imports only the standard library.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType


class ProgramKind(StrEnum):
    AMOUNT = "amount"  # a balance in Rials (Kalabarg tranches, donor credit)
    QUANTITY = "quantity"  # quantity entitlements (Yasna free packages)


class Unit(StrEnum):
    PIECE = "piece"
    KG = "kg"
    LITRE = "l"


def _frozen_map(value: Mapping[str, int] | None) -> Mapping[str, int]:
    return MappingProxyType(dict(value or {}))


@dataclass(frozen=True, slots=True)
class Category:
    id: str
    name_fa: str
    name_en: str
    parent: str | None = None


@dataclass(frozen=True, slots=True)
class OfflinePolicy:
    allowed: bool = False
    max_rial_per_transaction: int = 0
    max_rial_per_beneficiary_per_day: int = 0


@dataclass(frozen=True, slots=True)
class Program:
    id: str
    name_fa: str
    kind: ProgramKind
    categories: tuple[str, ...] = ()
    per_transaction_max_rial: int | None = None
    offline: OfflinePolicy = OfflinePolicy()


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    alg: str
    public_key: bytes  # the raw 32 bytes of an Ed25519 public key


@dataclass(frozen=True, slots=True)
class RuleSet:
    version: str
    issued_at: datetime
    valid_until: datetime
    signing_keys: tuple[SigningKey, ...]
    categories: tuple[Category, ...]
    programs: tuple[Program, ...]
    catalog_version: str
    hot_list: frozenset[str]  # sha256 hex of blocked national IDs
    #: The next tranche unlock (every household's credit opens), if the ledger says:
    #: lanes fetch the rules and catalog ahead of it, each at its own moment.
    next_unlock_at: datetime | None = None

    def program(self, program_id: str) -> Program | None:
        for program in self.programs:
            if program.id == program_id:
                return program
        return None

    def category(self, category_id: str) -> Category | None:
        for category in self.categories:
            if category.id == category_id:
                return category
        return None

    def category_lineage(self, category_id: str) -> tuple[str, ...]:
        """The category and its ancestors, nearest first (cycles are cut)."""
        parents = {c.id: c.parent for c in self.categories}
        lineage: list[str] = []
        current: str | None = category_id
        while current is not None and current not in lineage:
            lineage.append(current)
            current = parents.get(current)
        return tuple(lineage)

    def is_expired(self, now: datetime) -> bool:
        return now >= self.valid_until


@dataclass(frozen=True, slots=True)
class Product:
    gtin: str  # 14 digits or fewer, as in the catalog (GTIN-13 for the programme)
    name_fa: str
    category: str
    unit: Unit = Unit.PIECE
    groups: tuple[str, ...] = ()
    max_unit_price_rial: int | None = None
    deleted: bool = False
    name_en: str = ""


@dataclass(frozen=True, slots=True)
class Entitlement:
    group: str
    remaining_milli: int


@dataclass(frozen=True, slots=True)
class Purse:
    id: str
    program: str
    kind: ProgramKind
    label_fa: str = ""
    balance_rial: int = 0  # amount purses; 0 for quantity purses
    valid_from: datetime | None = None
    expires_at: datetime | None = None
    city: str | None = None
    categories: tuple[str, ...] = ()
    category_limits_rial: Mapping[str, int] = field(default_factory=lambda: _frozen_map(None))
    entitlements: tuple[Entitlement, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.category_limits_rial, MappingProxyType):
            object.__setattr__(self, "category_limits_rial", _frozen_map(self.category_limits_rial))

    def is_valid_at(self, now: datetime) -> bool:
        if self.valid_from is not None and now < self.valid_from:
            return False
        return not (self.expires_at is not None and now >= self.expires_at)

    def serves_city(self, city: str) -> bool:
        return self.city is None or self.city == city


@dataclass(frozen=True, slots=True)
class Beneficiary:
    ref: str
    display_name: str = ""
    household_size: int | None = None
    city: str | None = None


@dataclass(frozen=True, slots=True)
class Wallet:
    beneficiary: Beneficiary
    requires_otp: bool
    offline_allowance_rial: int
    purses: tuple[Purse, ...]


@dataclass(frozen=True, slots=True)
class BasketLine:
    """One line of a basket, already resolved to a catalog product and a price."""

    gtin: str
    quantity_milli: int
    unit_price_rial: int
    category: str | None = None  # None: not in the catalog (the household pays)
    groups: tuple[str, ...] = ()
    max_unit_price_rial: int | None = None
    unit: Unit = Unit.PIECE
    name: str = ""

    @property
    def amount_rial(self) -> int:
        from pos_client.domain.money import line_amount

        return line_amount(self.quantity_milli, self.unit_price_rial)


@dataclass(frozen=True, slots=True)
class Allocation:
    """What one purse pays of one basket line (``line`` is the line's index)."""

    line: int
    purse_id: str
    amount_rial: int
    quantity_milli: int = 0  # quantity purses: how much of the entitlement is used


@dataclass(frozen=True, slots=True)
class AllocationPlan:
    """A split of a basket over the purses, with what the household pays itself."""

    allocations: tuple[Allocation, ...]
    total_rial: int  # sum of the lines' amounts
    covered_rial: int  # what the purses pay the shop (sum of the allocations)
    payable_rial: int  # what the household pays by other means
    waived_rial: int = 0  # free-package units priced above their cap: nobody pays it

    # total_rial == covered_rial + waived_rial + payable_rial, always.

    def for_line(self, line: int) -> tuple[Allocation, ...]:
        return tuple(a for a in self.allocations if a.line == line)
