"""TLS and mTLS on a real uvicorn server configured like ``maaskit serve --ssl-*``, with
certificates made by trustme, driven by httpx and the official openai client."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import httpx2
import openai
import pytest
import trustme
from maaskit_server.app import create_app
from maaskit_server.serving import ServeOptions, check_tls
from maaskit_server.settings import ServerSettings

from server._live import live_server


@dataclass
class PKI:
    ca: trustme.CA
    other_ca: trustme.CA
    client: trustme.LeafCert
    stranger: trustme.LeafCert
    ca_file: Path
    cert_file: Path
    key_file: Path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PKI:
    folder = tmp_path_factory.mktemp("pki")
    ca, other_ca = trustme.CA(), trustme.CA()
    server_cert = ca.issue_cert("127.0.0.1", "localhost")
    made = PKI(
        ca,
        other_ca,
        ca.issue_cert("client@example.test"),
        other_ca.issue_cert("stranger@example.test"),
        folder / "ca.pem",
        folder / "server.pem",
        folder / "server.key",
    )
    ca.cert_pem.write_to_path(str(made.ca_file))
    server_cert.cert_chain_pems[0].write_to_path(str(made.cert_file))
    server_cert.private_key_pem.write_to_path(str(made.key_file))
    return made


def context(ca: trustme.CA, cert: trustme.LeafCert | None = None) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    if cert is not None:
        cert.configure_cert(ctx)
    return ctx


@pytest.fixture(scope="module")
def tls_port(pki: PKI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    app = create_app(ServerSettings(models_dir=tmp_path_factory.mktemp("m"), api_key_hashes=()))
    options = ServeOptions(ssl_certfile=pki.cert_file, ssl_keyfile=pki.key_file)
    with live_server(app, options) as port:
        yield port


@pytest.fixture(scope="module")
def mtls_port(pki: PKI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    app = create_app(ServerSettings(models_dir=tmp_path_factory.mktemp("m")))
    options = ServeOptions(
        ssl_certfile=pki.cert_file,
        ssl_keyfile=pki.key_file,
        ssl_ca_certs=pki.ca_file,
        ssl_require_client_cert=True,
    )
    with live_server(app, options) as port:
        yield port


def test_https_round_trip_with_the_servers_ca(pki: PKI, tls_port: int) -> None:
    with httpx.Client(verify=context(pki.ca)) as client:
        response = client.get(f"https://127.0.0.1:{tls_port}/health")
    assert response.status_code == 200
    assert response.headers["x-request-id"]


def test_a_client_trusting_another_ca_refuses_the_server(pki: PKI, tls_port: int) -> None:
    with (
        httpx.Client(verify=context(pki.other_ca)) as client,
        pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"),
    ):
        client.get(f"https://127.0.0.1:{tls_port}/health")


def test_plain_http_to_a_tls_port_gets_no_answer(tls_port: int) -> None:
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{tls_port}/health", timeout=30)


def test_mtls_needs_a_client_certificate_from_the_servers_ca(pki: PKI, mtls_port: int) -> None:
    url = f"https://127.0.0.1:{mtls_port}/health"
    with httpx.Client(verify=context(pki.ca, pki.client)) as client:
        assert client.get(url).status_code == 200
    for cert in (None, pki.stranger):
        with (
            httpx.Client(verify=context(pki.ca, cert)) as client,
            pytest.raises(httpx.HTTPError),
        ):
            client.get(url).raise_for_status()


def test_the_official_openai_client_over_mtls(pki: PKI, mtls_port: int) -> None:
    base_url = f"https://127.0.0.1:{mtls_port}/v1"
    # openai 3 runs on httpx2: its http_client is an httpx2 client.
    http_client = httpx2.Client(verify=context(pki.ca, pki.client))
    with openai.OpenAI(base_url=base_url, api_key="unused", http_client=http_client) as client:
        assert client.models.list().data == []  # no models in this server
    without_cert = httpx2.Client(verify=context(pki.ca))
    refused = openai.OpenAI(
        base_url=base_url, api_key="unused", http_client=without_cert, max_retries=0
    )
    with refused, pytest.raises(openai.APIConnectionError):
        refused.models.list()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"ssl_certfile": Path("c.pem")}, "go together"),
        ({"ssl_keyfile": Path("k.pem")}, "go together"),
        ({"ssl_require_client_cert": True}, "needs --ssl-ca-certs"),
        ({"ssl_ca_certs": Path("ca.pem")}, "needs --ssl-certfile"),
    ],
)
def test_tls_options_that_do_not_go_together_are_refused(
    options: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        check_tls(ServeOptions(**options))  # type: ignore[arg-type]


def test_the_maaskit_sdk_over_tls_and_mtls_without_building_an_httpx_client(
    pki: PKI, tls_port: int, mtls_port: int, tmp_path: Path
) -> None:
    import maaskit

    client_pem = tmp_path / "client.pem"
    pki.client.private_key_and_cert_chain_pem.write_to_path(str(client_pem))
    other_ca = tmp_path / "other-ca.pem"
    pki.other_ca.cert_pem.write_to_path(str(other_ca))

    # TLS: the CA bundle by path.
    with maaskit.Client(base_url=f"https://127.0.0.1:{tls_port}/v1", verify=str(pki.ca_file)) as c:
        assert c.models() == []
    with (
        maaskit.Client(
            base_url=f"https://127.0.0.1:{tls_port}/v1", verify=str(other_ca), max_retries=0
        ) as c,
        pytest.raises(maaskit.APIConnectionError, match="CERTIFICATE_VERIFY_FAILED"),
    ):
        c.models()

    # mTLS per endpoint of a router: the one with the certificate answers, the one without is
    # refused by the server and the call fails over to it.
    mtls = f"https://127.0.0.1:{mtls_port}/v1"
    no_cert = maaskit.Endpoint(
        name="no-cert", provider="openai", base_url=mtls, verify=str(pki.ca_file)
    )
    with_cert = maaskit.Endpoint(
        name="with-cert",
        provider="openai",
        base_url=mtls,
        verify=str(pki.ca_file),
        cert=str(client_pem),
    )
    with maaskit.Client(endpoints=[no_cert, with_cert]) as router:
        assert router.models() == []
        failures = {e.endpoint: e.failures for e in router.usage().entries}
    assert failures["no-cert"] == {"APIConnectionError": 1}
    assert failures["with-cert"] == {}
    with (
        maaskit.Client(endpoints=[no_cert], max_retries=0) as alone,
        pytest.raises(maaskit.APIConnectionError),
    ):
        alone.models()
    with pytest.raises(ValueError, match="endpoint 'bad': TLS settings"):
        maaskit.Client(
            endpoints=[
                maaskit.Endpoint(
                    name="bad", provider="openai", base_url=mtls, verify=str(tmp_path / "none.pem")
                )
            ]
        )
