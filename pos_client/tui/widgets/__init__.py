"""Widgets the screens share: right-to-left text, tables, the status bar, the key bar, QR codes."""
