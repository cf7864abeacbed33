"""Classifying what a scanner (or a cashier's keyboard) sends into one kind of scan.

A scan is a line of text, possibly led by an AIM symbology identifier (``]``,
a code letter, a modifier: ``]E0`` EAN-13/UPC-A, ``]C1`` GS1-128, ``]Q3`` GS1
QR, ...). :func:`classify_scan` turns it into one frozen value:

- :class:`NationalIdScan`: a national ID with a valid check digit;
- :class:`TokenScan`: a beneficiary token of the shape ``KB1.<b64url>.<b64url>``
  (its signature is checked elsewhere);
- :class:`PurchaseCodeScan`: an 8-digit single-use purchase code;
- :class:`ProductScan`: a GTIN-8/12/13/14 with a valid check digit, in the
  catalog's form (see :func:`catalog_gtin`);
- :class:`VariableMeasureScan`: a store-made EAN-13 (GS1 prefixes 20-29) with
  an item code and a weight or a price, laid out per :class:`VariableMeasureTemplate`;
- :class:`Gs1Scan`: a GS1 element string (GTIN plus net weight and/or price),
  read with the ``biip`` library's table of application identifiers and the
  lane's own rules on top (see :mod:`pos_client.domain.barcodes.gs1`);
- :class:`UnknownScan`: anything else, with a stable ``reason``.

Ambiguity is settled by what the screen expects (``expect``): 8 digits are a
purchase code while identifying a household and an EAN-8 while scanning
products; 10 digits with a valid check digit are a national ID unless products
are expected. Nothing a scanner can send makes :func:`classify_scan` raise.


The package's parts: ``scans`` (the values and the variable-measure layouts),
``gtin`` (check digits, catalog forms), ``gs1`` (element strings) and
``classify`` (AIM identifiers and the classification). It is pure: it imports
the standard library, ``biip`` (pure Python) and ``pos_client.domain``.
"""

from __future__ import annotations

from pos_client.domain.barcodes._common import GS, MAX_SCAN_CHARS, Expect
from pos_client.domain.barcodes.classify import (
    AIM_SYMBOLOGIES,
    GS1_SYMBOLOGIES,
    classify_scan,
    parse_aim,
)
from pos_client.domain.barcodes.gs1 import DATE_AIS, parse_gs1
from pos_client.domain.barcodes.gtin import (
    catalog_gtin,
    gtin_check_digit,
    is_valid_gtin,
    price_verifier_digit,
)
from pos_client.domain.barcodes.scans import (
    DEFAULT_TEMPLATES,
    Gs1Scan,
    NationalIdScan,
    ProductScan,
    PurchaseCodeScan,
    Scan,
    TokenScan,
    UnknownScan,
    VariableMeasureScan,
    VariableMeasureTemplate,
)

__all__ = [
    "AIM_SYMBOLOGIES",
    "DATE_AIS",
    "DEFAULT_TEMPLATES",
    "GS",
    "GS1_SYMBOLOGIES",
    "MAX_SCAN_CHARS",
    "Expect",
    "Gs1Scan",
    "NationalIdScan",
    "ProductScan",
    "PurchaseCodeScan",
    "Scan",
    "TokenScan",
    "UnknownScan",
    "VariableMeasureScan",
    "VariableMeasureTemplate",
    "catalog_gtin",
    "classify_scan",
    "gtin_check_digit",
    "is_valid_gtin",
    "parse_aim",
    "parse_gs1",
    "price_verifier_digit",
]
