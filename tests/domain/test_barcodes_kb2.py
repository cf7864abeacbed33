"""A KB2 token read by the scanner is a token, like a KB1 one."""

from __future__ import annotations

from pos_client.domain.barcodes import TokenScan, UnknownScan, classify_scan

TOKEN2 = "KB2.eyJ2IjoyfQ.c2lnbmF0dXJl_-"


def test_kb2_token_scans_as_a_token() -> None:
    scan = classify_scan(TOKEN2 + "\r\n", expect="identify")
    assert isinstance(scan, TokenScan)
    assert scan.token == TOKEN2


def test_malformed_kb2_is_refused_as_a_token() -> None:
    for bad in ["KB2.abc", "KB2.a+b.c", "KB2..c", "KB2.a.b.c", "KB3.a.b"]:
        scan = classify_scan(bad, expect="identify")
        assert isinstance(scan, UnknownScan)
        assert scan.reason in ("malformed_token", "not_a_known_code")
    scan = classify_scan("KB2.a.b.c", expect="identify")
    assert isinstance(scan, UnknownScan) and scan.reason == "malformed_token"
