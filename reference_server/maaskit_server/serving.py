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

When that time is spent, :class:`GracefulServer` has the app end what still runs (an open
stream gets a final error event, see :mod:`maaskit_server.draining`) instead of uvicorn
cancelling it mid-body; uvicorn's own cancellation stays as a backstop ``_BACKSTOP_S`` later.
A shutdown that went this way ends the process with status 0, with one worker or with N.
"""

from __future__ import annotations

import contextlib
import importlib.util
import signal
import socket
import ssl
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from starlette.types import ASGIApp
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors.multiprocess import Multiprocess, Process

from . import metrics
from .connections import DEFAULT_MAX_HEAD_BYTES
from .draining import DRAIN_STATE_KEY, Drain

GUARDED_HTTPTOOLS = "maaskit_server.connections:GuardedHttpToolsProtocol"
# After the graceful timeout the app ends its requests within milliseconds; uvicorn cancels
# whatever is left only this much later.
_BACKSTOP_S = 5
# An idle keep-alive connection is closed after this long. It must outlast the idle expiry of
# the clients' pools by more than their scheduling lag: a client reuses a connection it last
# saw open, and if the server's close crosses that request on the wire the client reads a reset
# (httpx's ReadError) for a request that was never answered. With uvicorn's 5 s, equal to
# httpx's and so the openai client's `keepalive_expiry`, a 10-minute soak of 64 clients on a
# loaded machine lost 20 of 35,554 requests that way. aiohttp keeps idle connections 15 s;
# nginx closes after 75 s. Idle connections count against --max-connections meanwhile.
DEFAULT_KEEP_ALIVE_S = 30


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
    keep_alive_s: int = DEFAULT_KEEP_ALIVE_S
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


class GracefulServer(uvicorn.Server):
    """uvicorn's server, with the app's :class:`~maaskit_server.draining.Drain` begun when it
    starts shutting down, and status 0 after a graceful shutdown on SIGTERM."""

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        drain = self.lifespan.state.get(DRAIN_STATE_KEY) if hasattr(self, "lifespan") else None
        grace_s = self.config.timeout_graceful_shutdown
        if isinstance(drain, Drain) and grace_s is not None:
            drain.begin(grace_s)
            self.config.timeout_graceful_shutdown = grace_s + _BACKSTOP_S
        await super().shutdown(sockets)

    def handle_exit(self, sig: int, frame: Any) -> None:
        super().handle_exit(sig, frame)
        # uvicorn raises a captured signal again once it has shut down, so the process would
        # end "killed by SIGTERM" even after a clean shutdown; gunicorn and the multi-worker
        # supervisor end with 0, and so does this. (SIGINT is left as it is: Ctrl-C.)
        captured: list[int] = getattr(self, "_captured_signals", [])
        if sig == signal.SIGTERM and sig in captured:
            captured.remove(sig)


def run_server(app: ASGIApp, kwargs: dict[str, Any]) -> None:
    """``uvicorn.run(app, **kwargs)`` with :class:`GracefulServer`."""
    server = GracefulServer(uvicorn.Config(app, **kwargs))
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    if not server.started:
        sys.exit(STARTUP_FAILURE)


class _GracefulProcess(Process):
    @property
    def server(self) -> uvicorn.Server:
        if self._server is None:
            self._server = GracefulServer(config=self.config)
        return self._server

    def join(self) -> None:
        super().join()
        # A worker that shuts down cleanly marks itself dead in the metrics (app.py); one that
        # was killed or crashed cannot, and its live gauges (running requests, queue depths)
        # would stay in every scrape until the next server start. The supervisor joins every
        # worker it replaces or stops, so it marks each one here.
        if self.pid is not None:
            metrics.mark_process_dead(self.pid)


class GracefulSupervisor(Multiprocess):
    def init_processes(self) -> None:
        for _ in range(self.processes_num):
            process = _GracefulProcess(self.config, self.sockets)
            process.start()
            self.processes.append(process)

    def keep_subprocess_alive(self) -> None:
        # uvicorn's, with a GracefulServer in the replacement of a worker that died.
        if self.should_exit.is_set():
            return
        for index, process in enumerate(self.processes):
            if process.is_alive(timeout=self.config.timeout_worker_healthcheck):
                continue
            process.kill()
            process.join()
            if process.exitcode == STARTUP_FAILURE or self.should_exit.is_set():
                # A worker that cannot start would fail the same way on every restart.
                self.should_exit.set()
                return
            replacement = _GracefulProcess(self.config, self.sockets)
            replacement.start()
            self.processes[index] = replacement

    def terminate_all(self) -> None:
        for sock in self.sockets:
            sock.close()
        super().terminate_all()


def run_workers(factory: str, workers: int, kwargs: dict[str, Any]) -> None:
    """``uvicorn.run(factory, factory=True, workers=workers, **kwargs)``, with
    :class:`GracefulSupervisor` as the supervisor and :class:`GracefulServer` in every worker."""
    config = uvicorn.Config(factory, factory=True, workers=workers, **kwargs)
    sock = config.bind_socket()
    GracefulSupervisor(config, sockets=[sock]).run()
