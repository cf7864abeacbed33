"""The fleet page: every lane of a chain, live in a browser, for the chain's IT team.

``pos-client fleet serve`` runs it (:mod:`pos_client.fleet_page.server`) on a
loopback port; :mod:`pos_client.fleet_page.app` is the Starlette app: one page
(``page.html``), its script and style (``page.js``, ``page.css``: no build step,
nothing from another site), and a stream of server-sent events fed by a
:class:`~pos_client.services.fleet_watch.FleetWatch`.

Imports the domain, the services it reads and Starlette/uvicorn; never the adapters.
"""
