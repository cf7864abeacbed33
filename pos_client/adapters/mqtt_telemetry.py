"""The telemetry port made real: the lane's state on an MQTT broker (paho-mqtt, its own thread).

As ``fleet-api.md`` ("Lane telemetry") asks: user name = the terminal id,
password from the lane's private config; the Will ``{"online": false,
"session": N}`` retained, QoS 1, on the lane's topic; ``session`` incremented
at each connect and kept on disk (:class:`SessionFile`, mode 0600, so it
survives a restart); the birth state published on connect with that session,
then every state handed over, and the last one again at least every
``republish_s`` (60 s); a clean stop publishes ``{"online": false,
"session": N}`` before it disconnects (the broker then drops the Will).

From a sale's point of view it is fire-and-forget: :meth:`MqttTelemetry.publish`
puts the state into a mailbox of one (a newer state replaces an unsent one)
and wakes the network thread; it never blocks and never raises. Everything
that touches the network happens on that thread, in a loop of its own around
paho's ``loop_read``/``loop_write``/``loop_misc`` (a selector, so thousands of
lanes in one process are fine), with paho's outgoing queue capped
(:data:`MAX_QUEUED`). Each connection is a fresh paho client (its own Will),
tried again after a full-jitter backoff (``uniform(0, min(cap, base * 2**n))``,
never under :data:`MIN_DELAY_S`); a broker that refuses the user name or
password is told once in the log (never the password) and tried again slowly.

It speaks MQTT 5, so a broker that refuses a state (its ACL: a lane may write
only its own topic) says so in the acknowledgement, and the lane tells it
(``not_authorised``) instead of publishing into nothing. Each connection has a
client id of its own (``lane-<terminal>-<session>``): a new connection never
takes over an old one, whose Will then comes when the broker gives up on it.

The lane also reads its own topic back (its ACL lets it): a Will of an older
connection that the broker published late (the old TCP connection died after
the new one began) would be the retained message a new reader sees first, so
the lane publishes its state again over it.

Imports the standard library, paho-mqtt, the domain's state message, the ports
and the project's errors.
"""

from __future__ import annotations

import logging
import os
import random
import selectors
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from pos_client.domain.errors import ContractError
from pos_client.domain.lane_state import (
    LaneAddress,
    LaneState,
    decode_state,
    encode_state,
    state_topic,
    will_payload,
)
from pos_client.ports import TelemetryStatus

__all__ = ["MAX_QUEUED", "MqttSettings", "MqttTelemetry", "SessionFile", "probe_broker"]

log = logging.getLogger(__name__)

#: paho's outgoing queue (messages not yet acknowledged) holds at most this many.
MAX_QUEUED = 4
#: The shortest wait before connecting again, whatever the jitter drew.
MIN_DELAY_S = 0.2
#: The longest the network thread sleeps without looking at its connection.
_TICK_S = 1.0


@dataclass(frozen=True, slots=True)
class MqttSettings:
    """How to reach the broker. ``password`` is never shown (not in a repr, not in a log)."""

    url: str
    username: str
    password: str = field(repr=False)
    ca_file: Path | None = None
    keepalive_s: int = 30
    republish_s: float = 60.0
    backoff_base_s: float = 1.0
    backoff_cap_s: float = 60.0
    #: After the broker refused the credentials: the next try is this long later (plus jitter).
    refused_retry_s: float = 300.0
    connect_timeout_s: float = 5.0
    #: Read the lane's own topic back, to cover a late Will of an older connection.
    watch_own_topic: bool = True

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    @property
    def tls(self) -> bool:
        return urlsplit(self.url).scheme == "mqtts"

    @property
    def port(self) -> int:
        return urlsplit(self.url).port or (8883 if self.tls else 1883)


class SessionFile:
    """The lane's telemetry session counter, on disk (0600), one more at each connect.

    Written whole (temp file, fsync, rename). A file that cannot be read gives
    way to the clock's seconds, which is above any count a lane reaches by
    connecting, so a reader never takes the lane's new states for old ones."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def current(self) -> int:
        try:
            text = self.path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            return 0
        except (OSError, UnicodeDecodeError):
            return -1
        return int(text) if text.isdigit() and len(text) < 16 else -1

    def next(self) -> int:
        with self._lock:
            held = self.current()
            if held < 0:
                log.warning(
                    "telemetry: the session file %s was unreadable; starting anew", self.path
                )
                held = int(time.time())
            value = held + 1
            self._write(value)
            return value

    def _write(self, value: int) -> None:
        folder = self.path.parent
        folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=folder)
        try:
            os.fchmod(handle, 0o600)
            with os.fdopen(handle, "w", encoding="ascii") as out:
                out.write(f"{value}\n")
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            try:
                os.unlink(temporary)
            except OSError:
                pass
            raise


class _Link:
    """One connection's paho client and what it has seen (used on the network thread only)."""

    def __init__(self, client: mqtt.Client, session: int) -> None:
        self.client = client
        self.session = session
        self.connected = False
        self.was_connected = False
        self.refused: str | None = None
        self.closed = False
        self.acked: set[int] = set()
        self.republish = False


class MqttTelemetry:
    """The :class:`~pos_client.ports.Telemetry` port on an MQTT broker (see the module)."""

    def __init__(
        self,
        settings: MqttSettings,
        address: LaneAddress,
        sessions: SessionFile,
        *,
        now: Callable[[], datetime] | None = None,
        name: str | None = None,
    ) -> None:
        self.settings = settings
        self.address = address
        self.topic = state_topic(address)
        self.sessions = sessions
        self._now = now or (lambda: datetime.now(UTC))
        self._name = name or f"telemetry-{address.terminal_id}"
        self._lock = threading.Lock()
        self._latest: LaneState | None = None
        self._fresh = False  # the latest state is not yet handed to the broker
        self._stopping = threading.Event()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._thread: threading.Thread | None = None
        self._status = TelemetryStatus(configured=True)
        self._told: str | None = None  # the problem last written to the log
        self._attempt = 0

    # -------------------------------------------------------------- the port

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def publish(self, state: LaneState) -> None:
        """Hand ``state`` over (the mailbox keeps only the latest); never blocks, never raises."""
        with self._lock:
            self._latest = state
            self._fresh = True
        self._wake()

    def stop(self, *, timeout: float = 2.0) -> None:
        """Say goodbye (``online: false``) if connected, disconnect, and end the thread."""
        self._stopping.set()
        self._wake()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        if thread is None or not thread.is_alive():
            for end in (self._wake_r, self._wake_w):
                end.close()

    def status(self) -> TelemetryStatus:
        return self._status

    # -------------------------------------------------------------- the thread

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"\0")
        except OSError:  # full (a wake is already pending) or closed (stopped)
            pass

    def _set_status(self, **changes: Any) -> None:
        self._status = replace(self._status, **changes)

    def _run(self) -> None:
        while not self._stopping.is_set():
            link: _Link | None = None
            try:
                link = self._connect()
                if link is not None:
                    self._serve(link)
            except Exception:  # never let the thread die: telemetry may be lost, not the lane
                log.exception("telemetry: unexpected failure; connecting again later")
                self._tell("unreachable", "an unexpected failure (see the log)")
            finally:
                if link is not None:
                    self._close(link)
            if self._stopping.is_set():
                break
            self._stopping.wait(self._delay(link))

    def _delay(self, link: _Link | None) -> float:
        s = self.settings
        if link is not None and link.refused is not None:
            return s.refused_retry_s * random.uniform(0.75, 1.25)
        self._attempt += 1
        ceiling = min(s.backoff_cap_s, s.backoff_base_s * 2 ** min(self._attempt, 30))
        return max(MIN_DELAY_S, random.uniform(0, ceiling))

    def _tell(self, problem: str, detail: str, *, connected: bool = False) -> None:
        self._set_status(connected=connected, problem=problem, detail=detail)
        if self._told == problem:
            return
        self._told = problem
        s = self.settings
        if problem == "not_authorised":
            log.error(
                "telemetry: the broker %s refused user %s (%s); the password was not accepted"
                " or the lane may not write its topic; trying again every %d s",
                s.host,
                s.username,
                detail,
                int(s.refused_retry_s),
            )
        else:
            log.warning("telemetry: cannot publish to %s:%d: %s", s.host, s.port, detail)

    def _client(self, session: int) -> mqtt.Client:
        s = self.settings
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"lane-{self.address.terminal_id}-{session}",
            protocol=mqtt.MQTTv5,
            reconnect_on_failure=False,
        )
        client.username_pw_set(s.username, s.password)
        client.will_set(self.topic, will_payload(session), qos=1, retain=True)
        client.max_queued_messages_set(MAX_QUEUED)
        client.max_inflight_messages_set(MAX_QUEUED)
        client.connect_timeout = s.connect_timeout_s
        if s.tls:
            context = ssl.create_default_context(cafile=str(s.ca_file) if s.ca_file else None)
            client.tls_set_context(context)  # verification on: CERT_REQUIRED, host name checked
        client.enable_logger(logging.getLogger(f"{__name__}.paho"))
        return client

    def _connect(self) -> _Link | None:
        session = self.sessions.next()
        client = self._client(session)
        link = _Link(client, session)
        client.user_data_set(link)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        s = self.settings
        self._set_status(session=session)
        try:
            client.connect(s.host, s.port, keepalive=s.keepalive_s, clean_start=True)
        except ssl.SSLError as exc:
            self._tell("tls", f"the broker's certificate is not trusted ({exc.reason})")
            return link
        except (OSError, ValueError) as exc:
            self._tell("unreachable", str(exc) or type(exc).__name__)
            return link
        return link

    def _serve(self, link: _Link) -> None:
        client = link.client
        sock = client.socket()
        if sock is None:
            return
        s = self.settings
        selector = selectors.DefaultSelector()
        try:
            selector.register(self._wake_r, selectors.EVENT_READ)
            selector.register(sock, selectors.EVENT_READ)
            connack_by = time.monotonic() + max(s.connect_timeout_s, float(s.keepalive_s))
            last_sent = float("-inf")
            while not link.closed:
                if self._stopping.is_set():
                    self._goodbye(link, selector, sock)
                    return
                now = time.monotonic()
                if link.connected:
                    due = now - last_sent >= s.republish_s or link.republish
                    if self._send_latest(link, force=due):
                        last_sent = now
                        link.republish = False
                elif now > connack_by:
                    self._tell("unreachable", "the broker did not answer the connection")
                    return
                if client.socket() is not sock or sock.fileno() < 0:  # paho closed it
                    break
                events = selectors.EVENT_READ
                if client.want_write():
                    events |= selectors.EVENT_WRITE
                try:
                    selector.modify(sock, events)
                    ready = selector.select(_TICK_S)
                except (OSError, ValueError):  # the socket went away under us
                    break
                for key, mask in ready:
                    if key.fileobj is self._wake_r:
                        self._drain_wake()
                        continue
                    if mask & selectors.EVENT_READ and client.loop_read() != mqtt.MQTT_ERR_SUCCESS:
                        link.closed = True
                    if mask & selectors.EVENT_WRITE and client.loop_write() not in (
                        mqtt.MQTT_ERR_SUCCESS,
                        mqtt.MQTT_ERR_AGAIN,
                    ):
                        link.closed = True
                if client.loop_misc() != mqtt.MQTT_ERR_SUCCESS:
                    link.closed = True
            if link.was_connected and not self._stopping.is_set():
                self._tell("unreachable", "the connection to the broker was lost")
        finally:
            selector.close()

    def _drain_wake(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            pass

    def _send_latest(self, link: _Link, *, force: bool) -> bool:
        with self._lock:
            state = self._latest
            if state is None or not (self._fresh or force):
                return False
            self._fresh = False
        try:
            payload = encode_state(
                replace(state, online=True, session=link.session, at=self._now())
            )
        except ContractError as exc:
            log.error("telemetry: the lane's state cannot be sent: %s", exc)
            return True
        info = link.client.publish(self.topic, payload, qos=1, retain=True)
        if info.rc == mqtt.MQTT_ERR_QUEUE_SIZE:  # the broker is slow: keep it for later
            with self._lock:
                self._fresh = self._fresh or self._latest is state
            return False
        self._set_status(published=self._status.published + 1)
        return True

    def _goodbye(self, link: _Link, selector: selectors.BaseSelector, sock: Any) -> None:
        client = link.client
        if link.connected:
            info = client.publish(self.topic, will_payload(link.session), qos=1, retain=True)
            deadline = time.monotonic() + 1.0
            while info.mid not in link.acked and not link.closed and time.monotonic() < deadline:
                events = selectors.EVENT_READ
                if client.want_write():
                    events |= selectors.EVENT_WRITE
                selector.modify(sock, events)
                for key, mask in selector.select(0.1):
                    if key.fileobj is self._wake_r:
                        self._drain_wake()
                        continue
                    if mask & selectors.EVENT_READ and client.loop_read() != mqtt.MQTT_ERR_SUCCESS:
                        link.closed = True
                    if mask & selectors.EVENT_WRITE:
                        client.loop_write()
        if not link.closed:
            client.disconnect()
            try:
                client.loop_write()
            except OSError:
                pass
        self._set_status(connected=False)

    def _close(self, link: _Link) -> None:
        sock = link.client.socket()
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass

    # -------------------------------------------------------------- paho's callbacks

    def _on_connect(
        self, client: mqtt.Client, link: _Link, flags: Any, reason: Any, properties: Any
    ) -> None:
        if reason.is_failure:
            link.closed = True
            if reason.value in (134, 135, 4, 5):  # bad user name or password / not authorised
                link.refused = str(reason)
                self._tell("not_authorised", str(reason))
            else:
                self._tell("unreachable", f"the broker refused the connection: {reason}")
            return
        link.connected = True
        link.was_connected = True
        self._attempt = 0
        if self._told is not None:
            log.info(
                "telemetry: publishing to %s again (session %d)", self.settings.host, link.session
            )
        self._told = None
        self._set_status(connected=True, problem=None, detail="", session=link.session)
        with self._lock:
            self._fresh = self._latest is not None  # the birth state
        if self.settings.watch_own_topic:
            client.subscribe(self.topic, qos=0)

    def _on_disconnect(
        self, client: mqtt.Client, link: _Link, flags: Any, reason: Any, properties: Any
    ) -> None:
        link.closed = True
        link.connected = False
        self._set_status(connected=False)

    def _on_publish(
        self, client: mqtt.Client, link: _Link, mid: int, reason: Any, properties: Any
    ) -> None:
        if getattr(reason, "is_failure", False):
            self._tell(
                "not_authorised",
                f"the broker refused the state on {self.topic} ({reason})",
                connected=link.connected,
            )
        link.acked.add(mid)
        if len(link.acked) > 64:
            link.acked = {mid}

    def _on_subscribe(
        self, client: mqtt.Client, link: _Link, mid: int, reasons: Any, properties: Any
    ) -> None:
        if any(getattr(reason, "is_failure", False) for reason in reasons):
            # The ACL that refuses reading the lane's own topic refuses writing it too.
            self._tell(
                "not_authorised",
                f"the broker does not let this lane use {self.topic}",
                connected=link.connected,
            )

    def _on_message(self, client: mqtt.Client, link: _Link, message: mqtt.MQTTMessage) -> None:
        if message.topic != self.topic:
            return
        seen = decode_state(bytes(message.payload))
        if isinstance(seen, LaneState) and not seen.online and seen.session < link.session:
            # An older connection's Will, published late: put the lane's state back on top.
            link.republish = True


def probe_broker(settings: MqttSettings, *, timeout: float = 5.0) -> TelemetryStatus:
    """Connect once with the lane's credentials and say how the broker answered (the doctor).

    Publishes nothing (the lane's retained state is left as it is) and leaves no Will."""
    answer: list[Any] = []
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"doctor-{settings.username}-{os.getpid()}",
        protocol=mqtt.MQTTv5,
        reconnect_on_failure=False,
    )
    client.username_pw_set(settings.username, settings.password)
    client.connect_timeout = timeout
    if settings.tls:
        cafile = str(settings.ca_file) if settings.ca_file else None
        client.tls_set_context(ssl.create_default_context(cafile=cafile))
    client.on_connect = lambda _c, _u, _f, reason, _p: answer.append(reason)
    try:
        client.connect(settings.host, settings.port, keepalive=max(5, int(timeout) + 1))
    except ssl.SSLError as exc:
        return TelemetryStatus(configured=True, problem="tls", detail=str(exc.reason or exc))
    except (OSError, ValueError) as exc:
        return TelemetryStatus(
            configured=True, problem="unreachable", detail=str(exc) or type(exc).__name__
        )
    deadline = time.monotonic() + timeout
    try:
        while not answer and time.monotonic() < deadline:
            if client.loop(timeout=0.1) != mqtt.MQTT_ERR_SUCCESS:
                break
        if not answer:
            return TelemetryStatus(
                configured=True, problem="unreachable", detail="no answer to the connection"
            )
        reason = answer[0]
        if not reason.is_failure:
            client.disconnect()
            return TelemetryStatus(configured=True, connected=True)
        if reason.value in (134, 135, 4, 5):
            return TelemetryStatus(configured=True, problem="not_authorised", detail=str(reason))
        return TelemetryStatus(configured=True, problem="unreachable", detail=str(reason))
    finally:
        sock = client.socket()
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass
