"""The fleet reader's broker URL, and mqtts with the server's certificate always verified
(a real Mosquitto with a TLS listener and a certificate made for the test)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import pwd
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from pos_client.adapters.mqtt_fleet import BrokerEndpoint, parse_broker_url
from pos_client.compose import fleet_reader
from pos_client.errors import ConfigError, TelemetryError
from pos_client.sandbox.broker import free_port, mosquitto_path
from pos_client.services.fleet_watch import FleetWatch


def test_the_broker_url_names_the_host_the_port_and_the_reader() -> None:
    assert parse_broker_url("mqtt://fleet@broker.example") == BrokerEndpoint(
        "broker.example", 1883, "fleet", tls=False
    )
    assert parse_broker_url("mqtts://fleet@10.0.0.5:18883") == BrokerEndpoint(
        "10.0.0.5", 18883, "fleet", tls=True
    )
    assert parse_broker_url("mqtts://fleet@broker").display == "mqtts://fleet@broker:8883"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("mqtt://fleet:secret@broker", "must not hold the password"),
        ("http://fleet@broker", "must start with mqtt:// or mqtts://"),
        ("mqtt://broker:1883", "names no reader account"),
        ("mqtt://fleet@", "names no host"),
        ("mqtt://fleet@broker:99999", "is not a URL"),
        ("mqtt://fleet@broker/pos/v1", "more than USER@HOST:PORT"),
    ],
)
def test_a_bad_broker_url_is_one_sentence(url: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says) as refused:
        parse_broker_url(url)
    assert "secret" not in refused.value.message


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _pem(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    path.chmod(0o600)
    return str(path)


def _certificates(folder: Path) -> tuple[str, str, str]:
    """A CA, and a server certificate it signed for 127.0.0.1: (ca, cert, key) paths."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("fleet test CA"))
        .issuer_name(_name("fleet test CA"))
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
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    return (
        _pem(folder / "ca.pem", ca.public_bytes(pem)),
        _pem(folder / "server.pem", cert.public_bytes(pem)),
        _pem(
            folder / "server.key",
            key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
        ),
    )


@pytest.fixture
def tls_broker(tmp_path: Path) -> Iterator[tuple[int, str]]:
    """Mosquitto with only a TLS listener on loopback: (port, the CA's path)."""
    program = mosquitto_path()
    assert program is not None, "Mosquitto is not installed (Debian package: mosquitto)"
    ca, cert, key = _certificates(tmp_path)
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(
        f"user {pwd.getpwuid(os.getuid()).pw_name}\n"
        f"listener {port} 127.0.0.1\nallow_anonymous true\n"
        f"cafile {ca}\ncertfile {cert}\nkeyfile {key}\n"
        f"log_dest file {tmp_path / 'mosquitto.log'}\n"
    )
    broker = subprocess.Popen([program, "-c", str(conf)], stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert broker.poll() is None and time.monotonic() < deadline
                time.sleep(0.02)
        yield port, ca
    finally:
        broker.terminate()
        broker.wait(10)


def test_mqtts_refuses_a_server_it_cannot_verify(tls_broker: tuple[int, str]) -> None:
    port, _ca = tls_broker
    reader = fleet_reader(BrokerEndpoint("127.0.0.1", port, "fleet", tls=True), "x", FleetWatch())
    with pytest.raises(TelemetryError, match="did not prove who it is"):
        reader.start(timeout_s=5)


def test_mqtts_connects_to_a_server_its_ca_file_vouches_for(tls_broker: tuple[int, str]) -> None:
    port, ca = tls_broker
    watch = FleetWatch()
    reader = fleet_reader(
        BrokerEndpoint("127.0.0.1", port, "fleet", tls=True), "x", watch, ca_file=ca
    )
    reader.start(timeout_s=5)
    try:
        assert watch.wait_settled(quiet_s=0.1, cap_s=5)
    finally:
        reader.stop()
