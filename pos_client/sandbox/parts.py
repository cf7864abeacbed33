"""What the sandbox's services share: the books and what they read beside them.

The base of :class:`~.ledger.Ledger` and :class:`~.admin.Admin`, so that both
are built from the same parts in the same way.

Imports the standard library and the sandbox's modules only.
"""

from __future__ import annotations

from dataclasses import dataclass

from .books import Books
from .catalog import Catalog
from .clock import SandboxClock
from .keys import SigningIdentity
from .rulesets import RuleSets


@dataclass(kw_only=True, eq=False, repr=False)
class SandboxParts:
    """The books, catalog, rule sets, signing identity and clock of one sandbox."""

    books: Books
    catalog: Catalog
    rulesets: RuleSets
    signer: SigningIdentity
    clock: SandboxClock
