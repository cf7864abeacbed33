"""Fonts shipped for receipts: Vazirmatn (SIL Open Font License 1.1, see OFL.txt).

A package only so that the font files are installed with the code.
"""
