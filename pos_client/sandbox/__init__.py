"""The sandbox central ledger: a reference implementation of ``ledger-api.md``.

For training, demos and every test: every endpoint of the contract over real
HTTP (Starlette under uvicorn), books in SQLite (WAL) under a DATA directory,
strict where the real ledger would be strict. Run it with
``pos-client sandbox --data DIR`` or, from Python,
``pos_client.sandbox.server.start_sandbox(DIR)`` (a context manager). It
listens on loopback unless told otherwise with ``--allow-remote-sandbox``
(``allow_remote=True``): its ``/sandbox/`` endpoints take no authentication.

Modules, by what they hold:

- ``server``: building a sandbox from DATA, running it (background thread or foreground);
- ``app``: the HTTP routes (thin) and problem rendering;
- ``ledger``: what each contract endpoint does to the books;
- ``wallets``: identities, purses with tranche carry-over, OTP challenges;
- ``rulesets``, ``catalog``, ``products``: the signed rule set and catalog;
- ``books``: the SQLite books and their transactions;
- ``requests``: strict reading of request bodies;
- ``problems``: RFC 9457 problem documents;
- ``throttle``: failed purchase-code and OTP attempts per terminal (guessing throttled);
- ``faults``: fault injection; ``clock``: the movable clock and time helpers;
- ``admin``: the sandbox-only ``/sandbox/`` conveniences;
- ``auth``: who is calling (a terminal or a merchant's admin) and what it may see;
- ``fleet_app``, ``enrolments``, ``fleet_rows``, ``fleet_demo``: the fleet contract
  (``fleet-api.md``): its routes, enrolment by device code and store codes, its
  books, the demo stores and merchant admin tokens;
- ``datadir``, ``demo``, ``keys``, ``files``: what lives under DATA and the demo world;
- ``openapi.yaml``: the contract as OpenAPI 3.1, with the choices where it is silent.

Nothing here imports textual or the client's services, adapters or TUI; the
pure domain (:mod:`pos_client.domain`) supplies the shared rules (allocation,
tokens, signatures, the wire format).
"""
