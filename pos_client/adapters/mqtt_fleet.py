"""The fleet reader's connection to the chain's MQTT broker (paho-mqtt), read only.

:func:`parse_broker_url` reads the broker's address: ``mqtt://USER@HOST[:PORT]``
(port 1883 by default) or ``mqtts://USER@HOST[:PORT]`` (TLS, 8883 by default,
the server's certificate verified against the system's CAs or ``ca_file``, and
its name checked: verification is never turned off). The password is never part
of the URL: a URL that holds one is refused, since a command line is visible to
every user of the computer; it comes from ``POS_CLIENT_BROKER_PASSWORD`` or a
private file (``pos_client.commands.fleet_broker``).

:class:`FleetSubscriber` connects as a reader account, subscribes to the lanes'
state topics (QoS 1) and hands each message (topic, payload, retained flag) to a
sink; it resubscribes after every reconnect (paho reconnects with a growing
delay), so a broker restarted mid-day sends its retained states again. A broker
that cannot be reached, or that refuses the account, is one
:class:`~pos_client.errors.TelemetryError` sentence at :meth:`FleetSubscriber.start`.
"""

from __future__ import annotations

import logging
import ssl
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from pos_client.errors import ConfigError, TelemetryError

__all__ = ["BrokerEndpoint", "FleetSubscriber", "parse_broker_url"]

log = logging.getLogger(__name__)

_DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}
_KEEPALIVE_S = 30

#: (topic, payload, retained): called on paho's network thread.
Sink = Callable[[str, bytes, bool], None]


@dataclass(frozen=True, slots=True)
class BrokerEndpoint:
    """Where the broker is and who the reader is (never the password)."""

    host: str
    port: int
    username: str
    tls: bool

    @property
    def display(self) -> str:
        """The URL without any secret, for messages."""
        scheme = "mqtts" if self.tls else "mqtt"
        return f"{scheme}://{self.username}@{self.host}:{self.port}"


def parse_broker_url(url: str) -> BrokerEndpoint:
    """``mqtt://USER@HOST[:PORT]`` or ``mqtts://...``; a ConfigError sentence for anything else."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise ConfigError(f"the broker URL {url!r} is not a URL", key="broker") from None
    if parts.scheme not in _DEFAULT_PORTS:
        raise ConfigError(
            "the broker URL must start with mqtt:// or mqtts:// (e.g. mqtts://fleet@broker:8883)",
            key="broker",
        )
    if parts.password is not None:
        raise ConfigError(
            "the broker URL must not hold the password (anyone on this computer can read a"
            " command line): set POS_CLIENT_BROKER_PASSWORD or pass --password-file",
            key="broker",
        )
    if not parts.hostname:
        raise ConfigError(f"the broker URL {url!r} names no host", key="broker")
    if not parts.username:
        raise ConfigError(
            "the broker URL names no reader account: write it as mqtt://USER@HOST:PORT",
            key="broker",
        )
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ConfigError(f"the broker URL {url!r} has more than USER@HOST:PORT", key="broker")
    return BrokerEndpoint(
        host=parts.hostname,
        port=port or _DEFAULT_PORTS[parts.scheme],
        username=unquote(parts.username),
        tls=parts.scheme == "mqtts",
    )


class FleetSubscriber:
    """A read-only MQTT session that feeds every message under ``topic_filter`` to ``sink``."""

    def __init__(
        self,
        endpoint: BrokerEndpoint,
        password: str,
        *,
        topic_filter: str,
        sink: Sink,
        on_subscribed: Callable[[], None] | None = None,
        ca_file: str | None = None,
    ) -> None:
        self.endpoint = endpoint
        self._filter = topic_filter
        self._sink = sink
        self._on_subscribed = on_subscribed
        self._answered = threading.Event()
        self._subscribed = threading.Event()
        self._refusal: str | None = None
        self._subscribe_mid: int | None = None
        self.connected = False
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"pos-fleet-{uuid.uuid4().hex[:12]}",
            protocol=mqtt.MQTTv311,
            clean_session=True,
        )
        client.username_pw_set(endpoint.username, password)
        if endpoint.tls:
            client.tls_set(ca_certs=ca_file, cert_reqs=ssl.CERT_REQUIRED)
            client.tls_insecure_set(False)
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.on_connect = self._connected
        client.on_subscribe = self._subscribed_cb
        client.on_message = self._message
        client.on_disconnect = self._disconnected
        self._client = client

    # paho callbacks (its network thread) ----------------------------------------------------

    def _connected(
        self, client: mqtt.Client, _u: object, _f: object, code: object, _p: object
    ) -> None:
        if getattr(code, "is_failure", False):
            self._refusal = str(code)
            self._answered.set()
            return
        self.connected = True
        _result, mid = client.subscribe(self._filter, qos=1)
        self._subscribe_mid = mid
        self._answered.set()

    def _subscribed_cb(
        self, _c: mqtt.Client, _u: object, mid: int, codes: list[ReasonCode], _p: object
    ) -> None:
        if any(getattr(code, "is_failure", False) for code in codes):
            self._refusal = f"the broker refused to let {self.endpoint.username} read the lanes"
        elif self._on_subscribed is not None:
            self._on_subscribed()
        self._subscribed.set()

    def _message(self, _c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        try:
            self._sink(message.topic, bytes(message.payload), bool(message.retain))
        except Exception:  # a sink fault must not stop the network thread
            log.exception("a fleet message could not be taken")

    def _disconnected(
        self, _c: mqtt.Client, _u: object, _f: object, code: object, _p: object
    ) -> None:
        self.connected = False
        log.info("fleet reader disconnected from %s: %s", self.endpoint.display, code)

    # use --------------------------------------------------------------------------------------

    def start(self, timeout_s: float = 10.0) -> None:
        """Connect and subscribe, or raise a TelemetryError sentence (down, refused, TLS)."""
        where = self.endpoint.display
        self._client.connect_timeout = min(timeout_s, 10.0)
        try:
            self._client.connect(self.endpoint.host, self.endpoint.port, keepalive=_KEEPALIVE_S)
        except ssl.SSLError as exc:
            raise TelemetryError(
                f"the broker at {where} did not prove who it is (TLS: {exc.reason or exc})"
            ) from None
        except (OSError, TimeoutError) as exc:
            raise TelemetryError(
                f"cannot reach the broker at {where}: {exc.strerror or type(exc).__name__}"
            ) from None
        self._client.loop_start()
        if not self._answered.wait(timeout_s):
            self.stop()
            raise TelemetryError(f"the broker at {where} did not answer within {timeout_s:g} s")
        if self._refusal is None and not self._subscribed.wait(timeout_s):
            self.stop()
            raise TelemetryError(f"the broker at {where} did not confirm the subscription")
        if self._refusal is not None:
            refusal = self._refusal
            self.stop()
            if "subscription" in refusal or "read the lanes" in refusal:
                raise TelemetryError(refusal)
            raise TelemetryError(
                f"the broker at {where} refused the reader account {self.endpoint.username!r}"
                f" ({refusal}): check the user name and the password"
            )

    def stop(self) -> None:
        """Disconnect and stop the network thread."""
        try:
            self._client.disconnect()
        finally:
            self._client.loop_stop()
