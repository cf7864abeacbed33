"""The virtual printer ``dummy://``: records every byte it is sent, like python-escpos's Dummy.

Tests compare its :attr:`~escpos.printer.Dummy.output` byte for byte and decode
the raster back into an image (:mod:`drivers.printer.raster`). Its paper and
online state can be set (``dummy://?paper=out``, or :attr:`VirtualPrinter.paper`)
to show what a lane does when a real printer runs out of paper. Status queries
are answered from that state and are not recorded in the output.

This module must not import pos_client.tui, services, adapters or sandbox.
"""

from __future__ import annotations

from escpos.printer import Dummy

from drivers.printer.base import PaperStatus, PrinterStatus, StatusReader

__all__ = ["VirtualPrinter"]


class VirtualPrinter(StatusReader, Dummy):  # type: ignore[misc]
    """A Dummy printer with a paper sensor and an online flag."""

    def __init__(self, *, paper: PaperStatus = PaperStatus.OK, online: bool = True) -> None:
        Dummy.__init__(self)
        self.paper = paper
        self.online = online
        self.jobs = 0  # how many times it was opened for a job

    def open(self, raise_not_found: bool = True) -> None:
        self.jobs += 1

    def read_status(self, timeout: float) -> PrinterStatus:
        return PrinterStatus(online=self.online, paper=self.paper)
