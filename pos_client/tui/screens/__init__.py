"""The checkout's screens: each shows state and forwards the cashier's intent (see ``flow``)."""
