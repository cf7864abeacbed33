"""The checkout screen: a Textual App over one lane's services, in Persian or English.

The only package that imports textual. Build the App with
:func:`pos_client.tui.app.make_app` from a lane made by
:func:`pos_client.compose.build_app`; ``pos-client run`` and ``pos-client demo``
do that. :mod:`.i18n` holds every text, :mod:`.rtl` the right-to-left
handling, :mod:`.flow` the order of the screens in a sale.

Importing this package imports nothing heavy; the modules are imported where used.
"""
