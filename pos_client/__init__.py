"""pos-client: the checkout program for Kalabarg electronic goods voucher redemptions."""

__version__ = "0.1.0"
