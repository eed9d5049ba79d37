"""TLS: `amqps://` through a TLS-terminating proxy whose CA the process trusts by
SSL_CERT_FILE, `sslmode=verify-full` in DATABASE_URL through a proxy that speaks PostgreSQL's
TLS, and the producer's verification of the CF API certificate unless CF_SKIP_SSL_VALIDATION
is set."""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import orjson
import psycopg2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from reporter import client
from shared.states import EventKind
from tests.support import pipeline, processes
from tests.support.pipeline import Pipeline
from tests.support.wait import wait_until

REQUEST = orjson.dumps({"from": "2026-10-01T00:00:00Z", "to": "2026-10-02T00:00:00Z"})


@dataclass
class Pki:
    ca_file: Path
    cert_file: Path
    key_file: Path


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A throwaway CA and a server certificate for 127.0.0.1 and localhost, signed by it."""
    folder = tmp_path_factory.mktemp("pki")
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("paas-billing test CA"))
        .issuer_name(_name("paas-billing test CA"))
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
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
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
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    pki = Pki(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    pki.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    pki.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pki.key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return pki


class TlsProxy:
    """Terminates TLS on 127.0.0.1:<port> and forwards plain TCP to the target."""

    def __init__(self, pki: Pki, target: tuple[str, int]) -> None:
        self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._context.load_cert_chain(pki.cert_file, pki.key_file)
        self._target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self.handshake_failures = 0
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                raw, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(raw,), daemon=True).start()

    def _serve(self, raw: socket.socket) -> None:
        try:
            tls = self._context.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            self.handshake_failures += 1
            raw.close()
            return
        upstream = socket.create_connection(self._target)
        self._sockets += [tls, upstream]
        threading.Thread(target=self._pump, args=(upstream, tls), daemon=True).start()
        self._pump(tls, upstream)

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.close()

    def close(self) -> None:
        self._listener.close()
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.close()


@contextlib.contextmanager
def tls_proxy(pki: Pki, target: tuple[str, int]) -> Iterator[TlsProxy]:
    proxy = TlsProxy(pki, target)
    try:
        yield proxy
    finally:
        proxy.close()


def _amqps_url(amqp_url: str, port: int) -> str:
    parts = urlsplit(amqp_url)
    netloc = f"{parts.username}:{parts.password}@127.0.0.1:{port}"
    return urlunsplit(("amqps", netloc, parts.path, parts.query, ""))


def test_tls_amqps_with_the_ca_in_ssl_cert_file(pki: Pki, database_url: str, amqp_url: str) -> None:
    """A reporter reaches RabbitMQ over amqps:// and verifies the broker by the default context;
    without the CA it refuses the connection and says why."""
    parts = urlsplit(amqp_url)
    with tls_proxy(pki, (parts.hostname or "127.0.0.1", parts.port or 5672)) as proxy:
        url = _amqps_url(amqp_url, proxy.port)
        untrusting = processes.python_module(
            "reporter", {"DATABASE_URL": database_url, "AMQP_URL": url}
        )
        with processes.running(untrusting):
            wait_until(lambda: "CERTIFICATE_VERIFY_FAILED" in untrusting.logs(), what="refusal")
            assert "reporter_listening" not in untrusting.logs()
            assert untrusting.stop() == 0
        env = {"DATABASE_URL": database_url, "AMQP_URL": url, "SSL_CERT_FILE": str(pki.ca_file)}
        with processes.running(processes.python_module("reporter", env)) as reporter:
            wait_until(lambda: "reporter_listening" in reporter.logs(), what="listening")
            reply = client.call(amqp_url, REQUEST, 30)  # the test's client: plain, direct
            assert reply is not None and reply["status"] == "ok", reply
            assert reporter.stop() == 0


# PostgreSQL's SSLRequest and GSSENCRequest codes (protocol: an 8-byte message before TLS).
PG_SSL_REQUEST = 80877103
PG_GSSENC_REQUEST = 80877104


class PostgresTlsProxy(TlsProxy):
    """PostgreSQL's TLS: answer the client's SSLRequest with 'S', terminate TLS, forward the
    decrypted protocol to the plain server. The local server has ssl = off; this stands in
    for a server with TLS, so that `sslmode=` in DATABASE_URL is exercised for real."""

    def __init__(self, pki: Pki, target: tuple[str, int]) -> None:
        self.tls_sessions = 0
        super().__init__(pki, target)

    def _serve(self, raw: socket.socket) -> None:
        try:
            while True:
                request = raw.recv(8, socket.MSG_WAITALL)
                code = int.from_bytes(request[4:8], "big") if len(request) == 8 else 0
                if code == PG_GSSENC_REQUEST:
                    raw.sendall(b"N")
                    continue
                if code != PG_SSL_REQUEST:
                    raw.close()  # a client that does not ask for TLS is refused here
                    return
                raw.sendall(b"S")
                break
            tls = self._context.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            self.handshake_failures += 1
            raw.close()
            return
        self.tls_sessions += 1
        upstream = socket.create_connection(self._target)
        self._sockets += [tls, upstream]
        threading.Thread(target=self._pump, args=(upstream, tls), daemon=True).start()
        self._pump(tls, upstream)


def _through(database_url: str, port: int, query: str) -> str:
    parts = urlsplit(database_url)
    netloc = f"{parts.username}@127.0.0.1:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def test_tls_sslmode_in_database_url_verifies_the_server(
    pki: Pki, database_url: str, amqp_url: str
) -> None:
    """The reporter reaches PostgreSQL over TLS with sslmode=verify-full and the CA given by
    sslrootcert, and answers a report; with verify-full and no CA it refuses the server."""
    parts = urlsplit(database_url)
    proxy = PostgresTlsProxy(pki, (parts.hostname or "127.0.0.1", parts.port or 5432))
    try:
        untrusting = _through(database_url, proxy.port, "sslmode=verify-full&sslrootcert=system")
        conn_error = None
        try:
            psycopg2.connect(untrusting).close()
        except psycopg2.OperationalError as exc:
            conn_error = str(exc)
        assert conn_error is not None and "certificate verify failed" in conn_error
        verified = _through(
            database_url, proxy.port, f"sslmode=verify-full&sslrootcert={pki.ca_file}"
        )
        env = {"DATABASE_URL": verified, "AMQP_URL": amqp_url}
        with processes.running(processes.python_module("reporter", env)) as reporter:
            wait_until(lambda: "reporter_listening" in reporter.logs(), what="listening")
            reply = client.call(amqp_url, REQUEST, 30)
            assert reply is not None and reply["status"] == "ok", reply
            assert reporter.stop() == 0
        assert proxy.tls_sessions >= 1
    finally:
        proxy.close()


@pytest.fixture
def https_simulator(pki: Pki) -> Iterator[str]:
    """The simulator behind a TLS proxy whose certificate no default trust store knows."""
    port = _free_port()
    with tls_proxy(pki, ("127.0.0.1", port)) as proxy:
        api = f"https://127.0.0.1:{proxy.port}"
        with pipeline.simulator(port=port, api_url=api, events=300):
            yield api


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_tls_cf_api_certificate_is_verified_unless_skipped(
    https_simulator: str, database_url: str, amqp_url: str
) -> None:
    api = https_simulator
    with Pipeline(api, database_url, amqp_url) as pipe:
        verifying = pipe.start_producer(CF_FOUNDATION="verify")
        wait_until(
            lambda: "TLS certificate is not trusted" in verifying.logs(), timeout=60, what="why"
        )
        assert verifying.alive()
        assert verifying.stop() == 0
        skipping = pipe.start_producer(CF_SKIP_SSL_VALIDATION="true")
        pipe.start_consumers(1)
        wait_until(
            lambda: pipeline.count_rows(database_url, EventKind.APP) > 0,
            timeout=60,
            what="events fetched over unverified TLS",
        )
        assert "tls_verification_disabled" in skipping.logs()
        assert set(pipe.stop_all().values()) == {0}
    assert pipeline.stored_guids(database_url, EventKind.APP, "verify") == []
