"""A real reference server in a subprocess, for the ``maaskit_server`` fixture.

The server is started as ``python -m maaskit_server`` (never imported: the SDK does not import
the server) on a free loopback port, with fault injection enabled and fresh random API and
admin keys, and stopped at the end of the session.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx

from .._async_client import AsyncClient
from .._client import Client
from ..providers import HFProvider, Provider

__all__ = ["FaultScript", "MaaSKitServer", "ServerStartError", "free_port", "start_server"]

FAULT_HEADER = "X-MaaSKit-Fault"
ADMIN_KEY_HEADER = "X-MaaSKit-Admin-Key"
_POLL_S = 0.1


class ServerStartError(RuntimeError):
    """The server process exited or did not become ready in time (the log tail is included)."""


def free_port() -> int:
    """A loopback TCP port that was free a moment ago (bound, read, released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def fault_header(fault: str) -> dict[str, str]:
    """``{"X-MaaSKit-Fault": fault}``, to pass as ``default_headers=`` or request headers."""
    return {FAULT_HEADER: fault}


class FaultScript:
    """Scripts faults on the server through its admin route (``/_maaskit/faults``).

    ``add("status=503; retry_after=0", times=2, route="/v1/embeddings")`` makes the next two
    matching calls answer 503, whoever sends them. The grammar is the server's
    (``maaskit_server.faults``)."""

    def __init__(self, server: MaaSKitServer) -> None:
        self._server = server

    def _request(self, method: str, json: Any = None) -> dict[str, Any]:
        response = self._server.admin_request(method, "/_maaskit/faults", json=json)
        result: dict[str, Any] = response.json()
        return result

    def add(
        self,
        fault: str,
        *,
        times: int = 1,
        route: str | None = None,
        model: str | None = None,
    ) -> None:
        rule: dict[str, Any] = {"fault": fault, "times": times}
        if route is not None:
            rule["route"] = route
        if model is not None:
            rule["model"] = model
        self._request("POST", {"rules": [rule]})

    def clear(self) -> None:
        """Removes every rule and resets the injected-fault counts."""
        self._request("DELETE")

    def rules(self) -> list[dict[str, Any]]:
        rules: list[dict[str, Any]] = self._request("GET")["rules"]
        return rules

    def injected(self) -> dict[str, int]:
        """Faults injected so far, by kind (``status_503``, ``reset_before_headers``…)."""
        injected: dict[str, int] = self._request("GET")["injected"]
        return injected

    @staticmethod
    def header(fault: str) -> dict[str, str]:
        return fault_header(fault)


class AnswerScript:
    """Scripts the next answers of generation routes (``/_maaskit/answers``).

    ``text("Hello")``, ``json({"ok": True})`` or ``tool_call("get_weather", {"city": "Rome"})``
    queue one answer for the next ``times`` matching requests (``route`` a shell pattern on
    the path, ``model`` the model name). The model then generates exactly that text, so
    streaming, usage and every protocol's shape are as for a real answer; a tool call comes
    back as OpenAI ``tool_calls`` on the chat routes."""

    def __init__(self, server: MaaSKitServer) -> None:
        self._server = server

    def _request(self, method: str, json: Any = None) -> dict[str, Any]:
        response = self._server.admin_request(method, "/_maaskit/answers", json=json)
        result: dict[str, Any] = response.json()
        return result

    def add(
        self,
        answer: dict[str, Any],
        *,
        times: int = 1,
        route: str | None = None,
        model: str | None = None,
    ) -> None:
        """Queue ``answer`` (``{"text": ...}``, ``{"json": ...}`` or ``{"tool_call": ...}``)."""
        rule: dict[str, Any] = {**answer, "times": times}
        if route is not None:
            rule["route"] = route
        if model is not None:
            rule["model"] = model
        self._request("POST", {"answers": [rule]})

    def text(self, text: str, **match: Any) -> None:
        self.add({"text": text}, **match)

    def json(self, value: Any, **match: Any) -> None:
        self.add({"json": value}, **match)

    def tool_call(self, name: str, arguments: dict[str, Any], **match: Any) -> None:
        self.add({"tool_call": {"name": name, "arguments": arguments}}, **match)

    def pending(self) -> list[dict[str, Any]]:
        """The queued answers, with ``remaining`` and ``fired`` counts."""
        answers: list[dict[str, Any]] = self._request("GET")["answers"]
        return answers

    def clear(self) -> None:
        self._request("DELETE")


class MaaSKitServer:
    """A running reference server: its URLs, keys, client factories, fault and answer scripts."""

    def __init__(
        self,
        url: str,
        *,
        api_key: str,
        admin_key: str,
        process: subprocess.Popen[bytes],
        log_path: Path,
    ) -> None:
        self.url = url
        self.api_key = api_key
        self.admin_key = admin_key
        self.process = process
        self.log_path = log_path
        self.faults = FaultScript(self)
        self.answers = AnswerScript(self)

    def __repr__(self) -> str:  # keys stay out of test output
        return f"MaaSKitServer(url={self.url!r}, pid={self.process.pid})"

    @property
    def openai_url(self) -> str:
        return f"{self.url}/v1"

    @property
    def kserve_url(self) -> str:
        return self.url

    @property
    def ollama_url(self) -> str:
        return self.url

    @property
    def hf_url(self) -> str:
        """Prefix of the per-model Hugging Face endpoints (``{hf_url}/{model}``)."""
        return f"{self.url}/models"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def base_url(self, provider: str) -> str:
        urls = {
            "openai": self.openai_url,
            "kserve": self.kserve_url,
            "ollama": self.ollama_url,
            "hf": self.hf_url,
        }
        if provider not in urls:
            raise ValueError(f"unknown provider {provider!r}; one of {', '.join(urls)}")
        return urls[provider]

    def _client_options(self, provider: str | Provider, options: dict[str, Any]) -> dict[str, Any]:
        name = provider if isinstance(provider, str) else provider.name
        if provider == "hf":
            # The server serves one Hugging Face endpoint per model, under /models/{name}.
            provider = HFProvider(model_in_path=True)
        options.setdefault("base_url", self.base_url(name))
        options.setdefault("api_key", self.api_key)
        return {"provider": provider, **options}

    def client(self, provider: str | Provider = "openai", **options: Any) -> Client:
        """A ``maaskit.Client`` for this server (keywords go to ``Client``)."""
        return Client(**self._client_options(provider, options))

    def async_client(self, provider: str | Provider = "openai", **options: Any) -> AsyncClient:
        return AsyncClient(**self._client_options(provider, options))

    def admin_request(self, method: str, path: str, *, json: Any = None) -> httpx.Response:
        headers = {**self.headers, ADMIN_KEY_HEADER: self.admin_key}
        response = httpx.request(method, self.url + path, json=json, headers=headers, timeout=10)
        response.raise_for_status()
        return response

    def idempotency_stats(self) -> dict[str, int]:
        """The server's ``Idempotency-Key`` counters: ``executed``, ``replayed``, ``waited``,
        ``conflict``, ``duplicate_execution``, ``in_flight``…"""
        stats: dict[str, int] = self.admin_request("GET", "/_maaskit/idempotency").json()
        return stats

    def models(self) -> list[str]:
        response = httpx.get(f"{self.openai_url}/models", headers=self.headers, timeout=10)
        response.raise_for_status()
        return [model["id"] for model in response.json()["data"]]

    def metrics_text(self) -> str:
        return httpx.get(f"{self.url}/metrics", headers=self.headers, timeout=10).text

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)


def start_server(
    log_path: Path,
    *,
    models_dir: Path | None = None,
    extra_args: Sequence[str] = (),
    ready_timeout_s: float = 180.0,
    env: Mapping[str, str] | None = None,
    api_key: str | None = None,
    port: int | None = None,
    enable_faults: bool = True,
    on_probe: Callable[[int, int], None] | None = None,
) -> MaaSKitServer:
    """Start ``python -m maaskit_server`` and wait for ``/ready``.

    Parameters:
        log_path: File that receives the server's stdout and stderr.
        models_dir: The ``--models`` folder (default: the bundled models).
        extra_args: More ``maaskit serve`` options.
        ready_timeout_s: Seconds to wait for ``/ready`` before ``ServerStartError``.
        env: Variables added to the server's environment.
        api_key: The key the server accepts (default: a new random one; ``""``: no key at
            all, an open server, for clients that send none such as LiteLLM's ``triton/``).
        port: The loopback port (default: a free one), e.g. to restart a stopped server where
            its clients expect it.
        enable_faults: Start with ``--enable-faults`` (the fixture's default).
        on_probe: Called with ``(GET /health status, GET /ready status)`` at every poll while
            waiting, to observe the startup (``/health`` is then polled too).
    """
    port = free_port() if port is None else port
    if api_key is None:
        api_key = "maaskit-test-" + secrets.token_hex(12)
    admin_key = "maaskit-admin-" + secrets.token_hex(12)
    command = [sys.executable, "-m", "maaskit_server", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--enable-faults", "--no-access-log"] if enable_faults else ["--no-access-log"]
    if models_dir is not None:
        command += ["--models", str(models_dir)]
    command += list(extra_args)
    # Keys travel in the environment, not the command line (which other users can list).
    child_env = {
        **os.environ,
        **(env or {}),
        "MAASKIT_API_KEYS": api_key,
        "MAASKIT_FAULT_ADMIN_KEY": admin_key,
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env=child_env, stdout=log, stderr=subprocess.STDOUT)
    server = MaaSKitServer(
        f"http://127.0.0.1:{port}",
        api_key=api_key,
        admin_key=admin_key,
        process=process,
        log_path=log_path,
    )
    try:
        _wait_ready(server, ready_timeout_s, on_probe)
    except BaseException:
        server.stop()
        raise
    return server


def _wait_ready(
    server: MaaSKitServer, timeout_s: float, on_probe: Callable[[int, int], None] | None
) -> None:
    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=5.0) as http:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise ServerStartError(f"the server exited:\n{server.log_text()[-3000:]}")
            try:
                health = http.get(f"{server.url}/health").status_code if on_probe else 0
                ready = http.get(f"{server.url}/ready").status_code
            except httpx.TransportError:
                time.sleep(_POLL_S)
                continue
            if on_probe is not None:
                on_probe(health, ready)
            if ready == 200:
                return
            time.sleep(_POLL_S)
    raise ServerStartError(
        f"the server was not ready in {timeout_s} s:\n{server.log_text()[-3000:]}"
    )
