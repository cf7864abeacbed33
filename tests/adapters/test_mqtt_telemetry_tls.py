"""mqtts://: the broker's certificate is verified, against the chain's own CA when one is named."""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from pos_client.adapters.mqtt_telemetry import (
    MqttSettings,
    MqttTelemetry,
    SessionFile,
    probe_broker,
)
from pos_client.domain.lane_state import LaneAddress, LaneState, state_topic
from pos_client.sandbox.broker import RunningBroker, start_broker
from tests.support.fleet_reader import fleet_reader
from tests.support.waiting import eventually

LANE = LaneAddress("M-0001", "S-0001", "T-0001")


def _name(text: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])


def _certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A CA of the chain's own, and a certificate it signed for localhost (ca, cert, key)."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("chain CA"))
        .issuer_name(_name("chain CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = (folder / "ca.pem", folder / "broker.pem", folder / "broker.key")
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    paths[2].chmod(0o600)
    return paths


@pytest.fixture
def tls_broker(tmp_path: Path) -> Iterator[tuple[RunningBroker, Path]]:
    folder = tmp_path / "pki"
    folder.mkdir()
    ca, cert, key = _certificates(folder)
    lanes = {"T-0001": "lane-T-0001"}
    with start_broker(
        tmp_path / "broker", lanes=lanes, readers={"fleet": "fleet-pass"}, tls=(cert, key)
    ) as broker:
        yield broker, ca


def test_the_state_goes_over_tls_with_the_chains_ca(
    tls_broker: tuple[RunningBroker, Path], tmp_path: Path
) -> None:
    broker, ca = tls_broker
    settings = MqttSettings(
        url=broker.tls_url, username="T-0001", password="lane-T-0001", ca_file=ca
    )
    lane = MqttTelemetry(settings, LANE, SessionFile(tmp_path / "session"))
    with fleet_reader(broker) as reader:
        lane.publish(LaneState(online=True, session=0, at=dt.datetime.now(dt.UTC)))
        lane.start()
        try:
            reader.wait(state_topic(LANE), lambda s: s.online, "the state over TLS")
        finally:
            lane.stop()
    assert probe_broker(settings).connected


def test_a_certificate_the_lane_does_not_trust_is_refused_and_told(
    tls_broker: tuple[RunningBroker, Path], tmp_path: Path
) -> None:
    broker, _ = tls_broker
    settings = MqttSettings(
        url=broker.tls_url, username="T-0001", password="lane-T-0001", backoff_cap_s=0.5
    )
    lane = MqttTelemetry(settings, LANE, SessionFile(tmp_path / "session"))
    lane.publish(LaneState(online=True, session=0, at=dt.datetime.now(dt.UTC)))
    lane.start()
    try:
        eventually(lambda: lane.status().problem == "tls", "the untrusted certificate told")
        assert not lane.status().connected
    finally:
        lane.stop()
    assert probe_broker(settings).problem == "tls"
