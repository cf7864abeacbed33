"""The pure core: national IDs, barcodes, tokens, money, rules, basket, allocation, states,
the receipt.

Nothing in this package does I/O, reads a clock or the environment, or imports
textual, httpx, serial or sqlite3 (checked by tests/test_boundaries.py and the
import-linter contracts in pyproject.toml).
"""
