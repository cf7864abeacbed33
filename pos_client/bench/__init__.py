"""``pos-client bench``: each performance figure measured beside the limit or peer that bounds it.

One module per figure group (:mod:`.allocation`, :mod:`.enqueue`,
:mod:`.catalog`, :mod:`.online`, :mod:`.scan`, :mod:`.startup`,
:mod:`.drain`), the values and their presentation in :mod:`.figures`, the
sandbox ledger in its own process in :mod:`.ledger`, and the run in
:mod:`.runner`. Absolute times vary between machines; the ratios are what is
tracked. The last full run is recorded in ``RESULTS.md`` beside this file.

A tool at the top of the application: it may import any part of it, but not
textual directly (the TUI is driven through its App factory).
"""
