"""How ``maaskit serve`` runs uvicorn: connection limits, graceful shutdown and TLS.

One place turns the command's options into uvicorn settings, so the CLI and the tests that run
a real uvicorn server use the same ones. What uvicorn offers is used as it is:
``limit_concurrency`` (past it new requests get 503), ``timeout_keep_alive``,
``timeout_graceful_shutdown`` and the ``ssl_*`` options; what it lacks for httptools (a
request-head size limit and a head-read deadline) is :mod:`maaskit_server.connections`.

With several workers, uvicorn's supervisor keeps its copy of the listening socket open until
every worker has exited, so connections that arrive after SIGTERM were accepted by the kernel
into a queue nobody read and hung until the supervisor exited (or were dropped then).
:class:`GracefulSupervisor` closes its copy first: once the workers close theirs (the first
thing they do on SIGTERM) new connections are refused at once, while the workers finish the
requests they hold, within ``--graceful-timeout``.
"""

from __future__ import annotations

import importlib.util
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from uvicorn.supervisors import Multiprocess

from .connections import DEFAULT_MAX_HEAD_BYTES

GUARDED_HTTPTOOLS = "maaskit_server.connections:GuardedHttpToolsProtocol"


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "info"
    access_log: bool = True
    # Request line plus headers; larger heads are answered 431 (400 with h11).
    max_head_bytes: int = DEFAULT_MAX_HEAD_BYTES
    # Connections plus running requests past which new requests are answered 503.
    max_connections: int = 1024
    keep_alive_s: int = 5
    # Seconds in-flight requests get to finish after SIGTERM before they are cancelled.
    graceful_timeout_s: int = 30
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None
    ssl_ca_certs: Path | None = None
    ssl_require_client_cert: bool = False

    @property
    def scheme(self) -> str:
        return "https" if self.ssl_certfile is not None else "http"


def check_tls(options: ServeOptions) -> None:
    """Raise ``ValueError`` for TLS options that do not go together."""
    if (options.ssl_certfile is None) != (options.ssl_keyfile is None):
        raise ValueError("--ssl-certfile and --ssl-keyfile go together")
    if options.ssl_require_client_cert and options.ssl_ca_certs is None:
        raise ValueError("--ssl-require-client-cert needs --ssl-ca-certs (the clients' CA)")
    if options.ssl_ca_certs is not None and options.ssl_certfile is None:
        raise ValueError("--ssl-ca-certs needs --ssl-certfile and --ssl-keyfile")


def uvicorn_options(options: ServeOptions) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.run`` / ``uvicorn.Config``."""
    check_tls(options)
    kwargs: dict[str, Any] = {
        "host": options.host,
        "port": options.port,
        "log_level": options.log_level,
        "access_log": options.access_log,
        # The h11 protocol's own head limit, which the guarded httptools protocol reads too.
        "h11_max_incomplete_event_size": options.max_head_bytes,
        "limit_concurrency": options.max_connections,
        "timeout_keep_alive": options.keep_alive_s,
        "timeout_graceful_shutdown": options.graceful_timeout_s,
        # A string, not the class: uvicorn pickles its config to worker processes.
        "http": GUARDED_HTTPTOOLS if importlib.util.find_spec("httptools") else "h11",
    }
    if options.ssl_certfile is not None:
        kwargs["ssl_certfile"] = str(options.ssl_certfile)
        kwargs["ssl_keyfile"] = str(options.ssl_keyfile)
    if options.ssl_ca_certs is not None:
        kwargs["ssl_ca_certs"] = str(options.ssl_ca_certs)
        # Without a required client certificate, one is still verified when offered.
        required = options.ssl_require_client_cert
        kwargs["ssl_cert_reqs"] = ssl.CERT_REQUIRED if required else ssl.CERT_OPTIONAL
    return kwargs


class GracefulSupervisor(Multiprocess):
    def terminate_all(self) -> None:
        for sock in self.sockets:
            sock.close()
        super().terminate_all()


def run_workers(factory: str, workers: int, kwargs: dict[str, Any]) -> None:
    """``uvicorn.run(factory, factory=True, workers=workers, **kwargs)``, with
    :class:`GracefulSupervisor` as the supervisor."""
    config = uvicorn.Config(factory, factory=True, workers=workers, **kwargs)
    sock = config.bind_socket()
    GracefulSupervisor(config, sockets=[sock]).run()
