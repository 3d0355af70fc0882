"""A real Triton Inference Server on a model repository, for integration tests.

``start_triton(repository)`` runs ``tritonserver`` on free loopback ports (HTTP, gRPC,
metrics) and waits for ``/v2/health/ready``; ``.client()`` gives a ``maaskit`` client with the
``kserve`` provider. The binary comes from the PyPI wheel ``nvidia-pytriton`` (Triton 2.51
with the Python backend only, no GPU needed; install it with ``pip install --no-deps
nvidia-pytriton==0.7.0``: its own dependencies pin numpy below 2 and are not needed to run the
server), or from ``triton_home=`` (a folder with ``bin/tritonserver`` and ``backends/``, such as
``/opt/tritonserver`` in NVIDIA's containers).

Whatever cannot run here raises :class:`TritonUnavailable` with the reason, so a fixture can
skip::

    @pytest.fixture(scope="session")
    def triton(tmp_path_factory):
        repository = tmp_path_factory.mktemp("triton")
        subprocess.run(["maaskit", "models", "export-triton", str(repository)], check=True)
        try:
            server = start_triton(repository, log_path=repository.parent / "triton.log")
        except TritonUnavailable as exc:
            pytest.skip(str(exc))
        yield server
        server.stop()

Python models run in Triton's stub, which embeds libpython of the same minor version: the
wheel has stubs for 3.8-3.13 and needs a shared libpython. The stub finds its packages the way
``python3`` on ``PATH`` would, so ``python_env`` (a virtual environment; default
``$MAASKIT_TRITON_PYTHON_ENV``, else ``~/.cache/maaskit/triton-python`` when it exists, else
this interpreter's environment) goes first on the server's ``PATH``.
The wheel's stub (built before numpy 2) misreads numpy 2 arrays, so with it the environment
needs ``numpy<2``: ``python -m venv --system-site-packages ENV && ENV/bin/pip install
"numpy<2"`` keeps every other package of this environment.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx

from .._async_client import AsyncClient
from .._client import Client
from ._server import free_port

__all__ = ["TritonServer", "TritonStartError", "TritonUnavailable", "start_triton"]

PYTHON_ENV_VARIABLE = "MAASKIT_TRITON_PYTHON_ENV"
# Where maaskit's CI makes that environment (.ci/run), used when the variable is unset.
DEFAULT_PYTHON_ENV = Path.home() / ".cache" / "maaskit" / "triton-python"
_WHEEL = "nvidia-pytriton"
_POLL_S = 0.1
# What the stub's Python must report, asked in the environment itself (one short subprocess).
_PROBE = (
    "import json, sys, sysconfig\n"
    "try:\n    import numpy; numpy_version = numpy.__version__\n"
    "except ImportError:\n    numpy_version = None\n"
    "print(json.dumps({'version': '%d.%d' % sys.version_info[:2], 'numpy': numpy_version,"
    " 'shared': bool(sysconfig.get_config_var('Py_ENABLE_SHARED')),"
    " 'libdir': sysconfig.get_config_var('LIBDIR')}))\n"
)


class TritonUnavailable(Exception):
    """Triton cannot run here (no binary, no matching Python stub…); the message says why."""


class TritonStartError(RuntimeError):
    """``tritonserver`` exited or was not ready in time (the log tail is included)."""


@dataclass(frozen=True)
class _Install:
    binary: Path
    backends: Path  # holds python/libtriton_python.so and triton_python_backend_utils.py
    libraries: Path | None  # the wheel's bundled shared libraries
    stubs: Path | None  # the wheel's python_backend_stubs/{3.X}/ folders


class TritonServer:
    """A running ``tritonserver``: its URLs, log and metrics, and client factories."""

    def __init__(
        self,
        *,
        http_port: int,
        grpc_port: int,
        metrics_port: int,
        process: subprocess.Popen[bytes],
        log_path: Path,
        scratch: Path,
    ) -> None:
        self.url = f"http://127.0.0.1:{http_port}"
        self.http_address = f"127.0.0.1:{http_port}"  # tritonclient.http takes no scheme
        self.grpc_address = f"127.0.0.1:{grpc_port}"
        self.metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
        self.process = process
        self.log_path = log_path
        self._scratch = scratch

    def __repr__(self) -> str:
        return f"TritonServer(url={self.url!r}, pid={self.process.pid})"

    def client(self, **options: Any) -> Client:
        """A ``maaskit.Client(provider="kserve")`` for this server (keywords go to ``Client``)."""
        options.setdefault("provider", "kserve")
        options.setdefault("base_url", self.url)
        return Client(**options)

    def async_client(self, **options: Any) -> AsyncClient:
        options.setdefault("provider", "kserve")
        options.setdefault("base_url", self.url)
        return AsyncClient(**options)

    def metrics_text(self) -> str:
        """Triton's Prometheus metrics (``nv_inference_request_success``, ``..._exec_count``…)."""
        return httpx.get(self.metrics_url, timeout=10).text

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)
        shutil.rmtree(self._scratch, ignore_errors=True)

    def __enter__(self) -> TritonServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def start_triton(
    repository: Path,
    *,
    log_path: Path | None = None,
    python_env: Path | None = None,
    triton_home: Path | None = None,
    ready_timeout_s: float = 120.0,
    extra_args: Sequence[str] = (),
) -> TritonServer:
    """Start ``tritonserver`` on ``repository`` and wait until it and its models are ready.

    ``log_path``: where the server's output goes (default: a temporary file, removed by
    ``stop()``). ``python_env``: the environment whose Python runs Python-backend models (see
    the module docstring). ``triton_home``: a Triton installation to use instead of the
    ``nvidia-pytriton`` wheel. ``extra_args`` go to ``tritonserver`` as they are.
    Raises :class:`TritonUnavailable` when Triton cannot run here, :class:`TritonStartError`
    when it started but failed (a model that does not load stops it).
    """
    if sys.platform != "linux" or platform.machine() not in ("x86_64", "AMD64"):
        raise TritonUnavailable(
            f"tritonserver runs on Linux x86_64 only, not {sys.platform} {platform.machine()}"
        )
    install = _installation(triton_home)
    env_dir = _python_env(python_env)
    python = _probe(env_dir)
    scratch = Path(tempfile.mkdtemp(prefix="maaskit-triton-"))
    try:
        backends = _backend_directory(install, python, scratch)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    http_port, grpc_port, metrics_port = free_port(), free_port(), free_port()
    command = [
        str(install.binary),
        f"--model-repository={repository}",
        f"--backend-directory={backends}",
        "--http-address=127.0.0.1",
        f"--http-port={http_port}",
        "--grpc-address=127.0.0.1",
        f"--grpc-port={grpc_port}",
        f"--metrics-port={metrics_port}",
        "--allow-gpu-metrics=false",
        # Models still loading when a test fails must not hold the port for Triton's 30 s.
        "--exit-timeout-secs=5",
        *extra_args,
    ]
    libraries = [str(p) for p in (python["libdir"], install.libraries) if p]
    env = {
        **os.environ,
        "LD_LIBRARY_PATH": os.pathsep.join(
            [*libraries, *filter(None, [os.environ.get("LD_LIBRARY_PATH")])]
        ),
        # The stub's embedded Python looks for python3 on PATH to find its prefix and packages.
        "PATH": os.pathsep.join([str(env_dir / "bin"), os.environ.get("PATH", "")]),
    }
    log = log_path or scratch / "tritonserver.log"
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    server = TritonServer(
        http_port=http_port,
        grpc_port=grpc_port,
        metrics_port=metrics_port,
        process=process,
        log_path=log,
        scratch=scratch,
    )
    try:
        _wait_ready(server, ready_timeout_s)
    except BaseException:
        server.stop()
        raise
    return server


def _installation(triton_home: Path | None) -> _Install:
    if triton_home is not None:
        binary = triton_home / "bin" / "tritonserver"
        if not binary.is_file():
            raise TritonUnavailable(f"{binary} does not exist")
        return _Install(binary, triton_home / "backends", None, None)
    try:
        wheel = metadata.distribution(_WHEEL)
    except metadata.PackageNotFoundError:
        raise TritonUnavailable(
            f"the {_WHEEL} wheel is not installed: pip install --no-deps {_WHEEL}==0.7.0"
        ) from None
    root = Path(str(wheel.locate_file("pytriton/tritonserver")))
    binary = root / "bin" / "tritonserver"
    if not binary.is_file():
        raise TritonUnavailable(f"the {_WHEEL} wheel has no {binary}")
    libraries = Path(str(wheel.locate_file("nvidia_pytriton.libs")))
    return _Install(binary, root / "backends", libraries, root / "python_backend_stubs")


def _python_env(python_env: Path | None) -> Path:
    if python_env is None and os.environ.get(PYTHON_ENV_VARIABLE):
        python_env = Path(os.environ[PYTHON_ENV_VARIABLE])
    if python_env is None and (DEFAULT_PYTHON_ENV / "bin" / "python3").exists():
        python_env = DEFAULT_PYTHON_ENV
    if python_env is None:
        return Path(sys.prefix)
    if not (python_env / "bin" / "python3").exists():
        raise TritonUnavailable(f"{python_env} is not a Python environment (no bin/python3)")
    return python_env


def _probe(env_dir: Path) -> dict[str, Any]:
    python = env_dir / "bin" / "python3"
    if not python.exists():
        raise TritonUnavailable(f"{env_dir} has no bin/python3 for Triton's stub to find")
    try:
        answer = subprocess.run(
            [str(python), "-c", _PROBE], capture_output=True, check=True, timeout=60
        )
        facts: dict[str, Any] = json.loads(answer.stdout)
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        raise TritonUnavailable(f"cannot run {python}: {exc}") from exc
    if not facts["shared"]:
        raise TritonUnavailable(
            f"{python} has no shared libpython{facts['version']}, which Triton's Python stub "
            "embeds (build Python with --enable-shared)"
        )
    return facts


def _backend_directory(install: _Install, python: dict[str, Any], scratch: Path) -> Path:
    if install.stubs is None:
        return install.backends  # a full installation: its stub matches its own Python
    stub = install.stubs / python["version"] / "triton_python_backend_stub"
    if not stub.is_file():
        known = sorted(p.name for p in install.stubs.iterdir()) if install.stubs.is_dir() else []
        raise TritonUnavailable(
            f"the {_WHEEL} wheel has no Python-backend stub for Python {python['version']} "
            f"(it has {', '.join(known) or 'none'})"
        )
    numpy_version = python["numpy"]
    if numpy_version is None or int(numpy_version.split(".")[0]) >= 2:
        found = f"numpy {numpy_version}" if numpy_version else "no numpy"
        raise TritonUnavailable(
            f"the {_WHEEL} stub needs numpy<2 in the Python that runs models, which has "
            f"{found}: set {PYTHON_ENV_VARIABLE} to a virtual environment made with `python -m "
            "venv --system-site-packages ENV && ENV/bin/pip install 'numpy<2'`"
        )
    # The wheel leaves the stub out of backends/python (PyTriton copies one in at run time): a
    # private backend folder links the backend and the stub for this Python side by side.
    python_backend = scratch / "backends" / "python"
    python_backend.mkdir(parents=True)
    for item in (install.backends / "python").iterdir():
        if item.is_file():
            (python_backend / item.name).symlink_to(item)
    (python_backend / stub.name).symlink_to(stub)
    return scratch / "backends"


def _wait_ready(server: TritonServer, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=5.0) as http:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise TritonStartError(f"tritonserver exited: {_errors(server)}")
            try:
                if http.get(f"{server.url}/v2/health/ready").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(_POLL_S)
    raise TritonStartError(f"tritonserver was not ready in {timeout_s} s: {_errors(server)}")


def _errors(server: TritonServer) -> str:
    """The log's error lines (a model that failed to load names itself there), else its tail.

    Triton logs errors as ``E<date> ...`` lines, libraries as ``[... ERROR ...]``; the rest of
    its start-up log is a table of options that would bury them."""
    lines = server.log_text().splitlines()
    errors = [
        line
        for line in lines
        if (line[:1] == "E" and line[1:5].isdigit()) or "ERROR" in line or line.startswith("error:")
    ]
    shown = errors[-20:] if errors else lines[-30:]
    return f"(log: {server.log_path})\n" + "\n".join(shown)
