"""Proxies and CA bundles from the environment, read once when the client is built, as requests read them."""

from __future__ import annotations

import base64
import datetime
import http.client
import ipaddress
import ssl
from collections.abc import Iterator
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from client_helpers import ClientFactory, ScriptedServer, assert_no_key, serve

from poelis_pipelines.client import ConfigurationError, PoelisClient, TransportError

LOOPBACK = ipaddress.ip_address("127.0.0.1")
# Hop-by-hop and framing headers a proxy does not pass on; it sets its own.
_NOT_FORWARDED = {"connection", "proxy-authorization", "host", "transfer-encoding", "content-length", "date"}


class ForwardingProxy(ThreadingHTTPServer):
    """A CONNECT-less HTTP proxy: forwards absolute-form GETs, refuses tunnels, records every request."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), ProxyHandler)
        self.seen: list[tuple[str, str, dict[str, str]]] = []  # (method, target, lower-cased headers)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


class ProxyHandler(BaseHTTPRequestHandler):
    server: ForwardingProxy

    def do_GET(self) -> None:
        self.server.seen.append(("GET", self.path, lower_cased(self.headers)))
        target = urlsplit(self.path)
        upstream = http.client.HTTPConnection(target.hostname or "", target.port, timeout=10)
        headers = {name: value for name, value in self.headers.items() if name.lower() not in _NOT_FORWARDED}
        upstream.request("GET", f"{target.path}?{target.query}", headers=headers)
        answer = upstream.getresponse()
        body = answer.read()
        upstream.close()
        self.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in _NOT_FORWARDED | {"server"}:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_CONNECT(self) -> None:
        self.server.seen.append(("CONNECT", self.path, lower_cased(self.headers)))
        self.send_error(403, "no tunnels here")

    def log_message(self, *args: Any) -> None:
        pass


def lower_cased(headers: Message) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


@pytest.fixture
def proxy() -> Iterator[ForwardingProxy]:
    yield from serve(ForwardingProxy())


def test_http_proxy_from_the_environment_forwards_every_request(
    fake_api: Any, make_client: ClientFactory, proxy: ForwardingProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url.replace("http://", "http://builder:pr0xy-pa55word@"))
    client = make_client()
    monkeypatch.delenv("HTTP_PROXY")  # read once, at construction

    assert [record["id"] for record in client.iter_workspaces()] == [
        record["id"] for record in fake_api.dataset.workspaces
    ]

    assert len(proxy.seen) == fake_api.total_requests == client.stats.requests
    method, target, headers = proxy.seen[0]
    assert (method, target.partition("?")[0]) == ("GET", f"{fake_api.base_url}/v1/public/workspaces")
    assert headers["proxy-authorization"] == "Basic " + base64.b64encode(b"builder:pr0xy-pa55word").decode()
    assert headers["host"] == urlsplit(fake_api.base_url).netloc


@pytest.mark.parametrize(
    ("no_proxy", "proxied"),
    [
        ("example.com,127.0.0.1", False),
        ("example.com, 127.0.0.0/8", False),  # a CIDR range, as curl and requests read it
        ("example.com,10.0.0.0/8", True),
    ],
)
def test_no_proxy_exempts_the_api_host(
    fake_api: Any,
    make_client: ClientFactory,
    proxy: ForwardingProxy,
    monkeypatch: pytest.MonkeyPatch,
    no_proxy: str,
    proxied: bool,
) -> None:
    monkeypatch.setenv("http_proxy", proxy.url)
    monkeypatch.setenv("NO_PROXY", no_proxy)

    assert len(list(make_client().iter_workspaces())) == len(fake_api.dataset.workspaces)

    assert len(proxy.seen) == (1 if proxied else 0)
    assert fake_api.total_requests == 1


def test_https_goes_through_a_tunnel_the_proxy_never_sees_the_key(
    proxy: ForwardingProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    key = "poelis_api_" + "tunnelTestKey_" + "t" * 24

    with (
        PoelisClient(api_key=key, base_url="https://api.poelis.example", max_attempts=1) as client,
        pytest.raises(TransportError) as raised,
    ):
        client.get_workspace("w1")

    assert raised.value.kind == "connection"
    assert_no_key(str(raised.value))
    [(method, target, headers)] = proxy.seen
    assert (method, target) == ("CONNECT", "api.poelis.example:443")
    assert "authorization" not in headers


def test_an_unusable_proxy_is_refused_at_construction(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "socks5://127.0.0.1:1080")

    with pytest.raises(ConfigurationError, match="HTTPS_PROXY"):
        PoelisClient(api_key="poelis_api_" + "k" * 40)


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, as PEM files (skips without `cryptography`)."""
    pytest.importorskip("cryptography")
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "poelis-test")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(LOOPBACK)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    certificate_file, key_file = directory / "server.pem", directory / "server.key"
    certificate_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return certificate_file, key_file


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[ScriptedServer, Path]]:
    """A scripted HTTPS server with a self-signed certificate, and that certificate's file."""
    certificate_file, key_file = self_signed_certificate(tmp_path)
    server = ScriptedServer()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate_file, key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    for running in serve(server):
        yield running, certificate_file


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "CURL_CA_BUNDLE"])
def test_certificates_are_verified_against_the_environments_ca_bundle(
    tls_server: tuple[ScriptedServer, Path], monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    server, certificate_file = tls_server
    host, port = server.server_address[:2]
    options: dict[str, Any] = {"api_key": "poelis_api_" + "k" * 40, "base_url": f"https://{host!s}:{port}"}
    server.script = [(200, b'{"items": [], "count": 0}')]

    with PoelisClient(**options, max_attempts=1) as client, pytest.raises(TransportError) as raised:
        list(client.iter_workspaces())
    assert "CERTIFICATE_VERIFY_FAILED" in str(raised.value)  # certifi's bundle does not know it

    monkeypatch.setenv(variable, str(certificate_file))
    with PoelisClient(**options) as client:
        assert list(client.iter_workspaces()) == []
    assert len(server.seen_headers) == 1
