"""A lane's telemetry in a process of its own, to be killed (``-m tests.support.telemetry_child``).

Arguments: broker URL, terminal id, password, session file, keepalive seconds.
Publishes one state, prints ``connected <session>`` once the broker took it,
then waits to be killed.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from pos_client.adapters.mqtt_telemetry import MqttSettings, MqttTelemetry, SessionFile
from pos_client.domain.lane_state import LaneAddress, LaneState


def main() -> None:
    url, terminal, password, session_file, keepalive = sys.argv[1:6]
    telemetry = MqttTelemetry(
        MqttSettings(url=url, username=terminal, password=password, keepalive_s=int(keepalive)),
        LaneAddress("M-0001", "S-0001", terminal),
        SessionFile(Path(session_file)),
    )
    telemetry.publish(LaneState(online=True, session=0, at=datetime.now(UTC), sales_today=7))
    telemetry.start()
    while not (telemetry.status().connected and telemetry.status().published):
        time.sleep(0.02)
    print(f"connected {telemetry.status().session}", flush=True)
    while True:
        time.sleep(60)


if __name__ == "__main__":
    main()
