"""The lane agent (``pos-client agent``): a headless, long-running lane service.

It serves the JSON command line's operations over HTTP/1.1 on a Unix socket
(or loopback TCP) for a chain's own POS software, and runs the lane's
background work (the forwarder, the rules, catalog and config refresh, token
rotation) while it is up.

- :mod:`.operations`: each operation, over the services :mod:`pos_client.compose`
  builds; bodies in and out are the ``--json`` ones of the matching command.
- :mod:`.http`: the Starlette app: routes, body limits, problem documents,
  one checkout per lane at a time.
- :mod:`.held`: the wallets inquired shortly before, for the redeem of the same credential.
- :mod:`.background`: the background work, in one list (:func:`background_work`).
- :mod:`.serve`: the socket, the lock on the lane's store, the signals, start and stop.

Like the commands, it never imports the adapters: it goes through the services.
"""
