"""What a serial port may raise when its device goes away or misbehaves.

pyserial raises ``SerialException`` (an ``OSError``) for most failures, but a
few calls reach ``termios`` directly (``reset_input_buffer`` on an unplugged
port raises ``termios.error``, which is not an ``OSError``), and a bad
setting raises ``ValueError``. Drivers catch :data:`SERIAL_FAULTS` where they
touch a port and translate it into their own error.

This module must not import pos_client.tui, services, adapters or sandbox.
"""

from __future__ import annotations

import termios
from typing import Final

import serial

__all__ = ["SERIAL_FAULTS"]

SERIAL_FAULTS: Final = (serial.SerialException, OSError, termios.error, ValueError)
