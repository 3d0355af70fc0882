"""``maaskit serve``: the reference server over HTTP."""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import click

from ..audit import write_json_access_log
from ..connections import DEFAULT_MAX_HEAD_BYTES
from ..keys import KeysFileError, hash_key, read_keys_file
from ..metrics import MULTIPROC_ENV, prepare_multiprocess_dir
from ..repository import model_folders
from ..security import parse_keys_env
from ..serving import DEFAULT_KEEP_ALIVE_S, ServeOptions, run_server, run_workers, uvicorn_options
from ..settings import SETTINGS_ENV, ServerSettings, load_delay_from_env
from ._options import MODELS_OPTION

KEYS_ENV = "MAASKIT_API_KEYS"
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


@click.command()
@MODELS_OPTION
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on (0.0.0.0: every interface).",
)
@click.option(
    "--port",
    default=8000,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="TCP port (0: any free port).",
)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Server processes, each with its own copy of the models.",
)
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Local folder for the SQLite state the workers share (rate limits, idempotency); "
    "default with --workers > 1: a new temporary folder.",
)
@click.option(
    "--api-key",
    "api_keys",
    multiple=True,
    help=f"Accept this key (repeatable). Also read from ${KEYS_ENV} (comma-separated).",
)
@click.option(
    "--api-keys-file",
    "--keys-file",
    "api_keys_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Keys file ('maaskit keys create' writes it): SHA-256 digests with ids, model and "
    "route scopes and per-key limits. Re-read within 1 s when it changes.",
)
@click.option(
    "--max-body-bytes",
    default=2 * 1024 * 1024,
    show_default=True,
    type=click.IntRange(1),
    help="Largest request body (then 413).",
)
@click.option(
    "--body-timeout",
    "body_timeout_s",
    default=30.0,
    show_default=True,
    type=click.FloatRange(0, min_open=True),
    help="Seconds a request body may take to arrive (then 408).",
)
@click.option(
    "--max-header-bytes",
    default=DEFAULT_MAX_HEAD_BYTES,
    show_default=True,
    type=click.IntRange(1024),
    help="Largest request line plus headers (then 431).",
)
@click.option(
    "--max-connections",
    default=1024,
    show_default=True,
    type=click.IntRange(1),
    help="Open connections (per worker) past which new requests are answered 503.",
)
@click.option(
    "--keep-alive",
    "keep_alive_s",
    default=DEFAULT_KEEP_ALIVE_S,
    show_default=True,
    type=click.IntRange(1),
    help="Seconds an idle keep-alive connection is kept (longer than clients' idle expiry: "
    "httpx 5 s, aiohttp 15 s).",
)
@click.option(
    "--graceful-timeout",
    "graceful_timeout_s",
    default=30,
    show_default=True,
    type=click.IntRange(0),
    help="Seconds in-flight requests get to finish after SIGTERM.",
)
@click.option(
    "--ssl-certfile",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Serve HTTPS with this certificate (PEM, chain included).",
)
@click.option(
    "--ssl-keyfile",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The certificate's private key (PEM).",
)
@click.option(
    "--ssl-ca-certs",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CA bundle that client certificates are verified against (mTLS).",
)
@click.option(
    "--ssl-require-client-cert",
    is_flag=True,
    help="Refuse clients without a certificate signed by --ssl-ca-certs (mTLS).",
)
@click.option(
    "--max-inputs-per-request",
    default=2048,
    show_default=True,
    type=click.IntRange(1),
    help="Texts one embeddings or classification request may carry (then 400).",
)
@click.option(
    "--max-queue-size",
    default=4096,
    show_default=True,
    type=click.IntRange(1),
    help="Inputs waiting per model before requests are answered 429.",
)
@click.option(
    "--intra-op-threads",
    default=0,
    show_default=True,
    type=click.IntRange(0),
    help="onnxruntime threads per model (0: one per core).",
)
@click.option(
    "--rate-limit-rpm",
    default=0,
    show_default=True,
    type=click.IntRange(0),
    help="Requests per minute per API key (per client address without keys); 0: no limit.",
)
@click.option(
    "--encoder-lanes",
    default=0,
    show_default=True,
    type=click.IntRange(0),
    help="Batches an encoder model runs at once when busy, each on its share of the cores "
    "(0: 2 on two or more cores, else 1).",
)
@click.option(
    "--enable-faults",
    is_flag=True,
    help="Honour X-MaaSKit-Fault headers and the fault admin route. For client tests only.",
)
@click.option(
    "--fault-admin-key",
    envvar="MAASKIT_FAULT_ADMIN_KEY",
    help="Key of the /_maaskit admin routes (with --enable-faults). Also $MAASKIT_FAULT_ADMIN_KEY.",
)
@click.option(
    "--idempotency-ttl",
    "idempotency_ttl_s",
    default=600.0,
    show_default=True,
    type=click.FloatRange(0, min_open=True),
    help="Seconds an Idempotency-Key's answer is kept for replays.",
)
@click.option(
    "--idempotency-max-entries",
    default=10_000,
    show_default=True,
    type=click.IntRange(1),
    help="Answers kept for Idempotency-Key replays (oldest dropped first).",
)
@click.option(
    "--access-log",
    type=click.Choice(["text", "json", "off"]),
    default="text",
    show_default=True,
    is_flag=False,
    flag_value="text",
    help="uvicorn's text lines, or one JSON line per request (request id, key id, route, "
    "model, status, tokens, latency; never bodies or keys).",
)
@click.option("--no-access-log", is_flag=True, help="The same as --access-log off.")
@click.option(
    "--log-level",
    type=click.Choice(LOG_LEVELS, case_sensitive=False),
    default="info",
    show_default=True,
    help="Server and uvicorn log level.",
)
def serve(
    models_dir: Path,
    host: str,
    port: int,
    workers: int,
    state_dir: Path | None,
    api_keys: tuple[str, ...],
    api_keys_file: Path | None,
    max_body_bytes: int,
    body_timeout_s: float,
    max_header_bytes: int,
    max_connections: int,
    keep_alive_s: int,
    graceful_timeout_s: int,
    ssl_certfile: Path | None,
    ssl_keyfile: Path | None,
    ssl_ca_certs: Path | None,
    ssl_require_client_cert: bool,
    max_inputs_per_request: int,
    max_queue_size: int,
    intra_op_threads: int,
    rate_limit_rpm: int,
    encoder_lanes: int,
    enable_faults: bool,
    fault_admin_key: str | None,
    idempotency_ttl_s: float,
    idempotency_max_entries: int,
    access_log: str,
    no_access_log: bool,
    log_level: str,
) -> None:
    """Serve the models in MODELS over HTTP (OpenAI-compatible routes and more)."""
    from ..app import create_app

    _check_models_dir(models_dir)
    log_level = log_level.lower()

    digests = [hash_key(key) for key in (*api_keys, *parse_keys_env(os.environ.get(KEYS_ENV, "")))]
    file_keys = 0
    if api_keys_file is not None:
        try:
            file_keys = len(read_keys_file(api_keys_file))
        except KeysFileError as exc:
            raise click.BadParameter(str(exc), param_hint="--api-keys-file") from exc
    # An explicit --access-log wins over --no-access-log (which test harnesses pass first).
    source = click.get_current_context().get_parameter_source("access_log")
    explicit = source is click.core.ParameterSource.COMMANDLINE
    access = "off" if no_access_log and not explicit else access_log
    serve_options = ServeOptions(
        host=host,
        port=port,
        log_level=log_level,
        access_log=access == "text",
        max_head_bytes=max_header_bytes,
        max_connections=max_connections,
        keep_alive_s=keep_alive_s,
        graceful_timeout_s=graceful_timeout_s,
        ssl_certfile=ssl_certfile,
        ssl_keyfile=ssl_keyfile,
        ssl_ca_certs=ssl_ca_certs,
        ssl_require_client_cert=ssl_require_client_cert,
    )
    try:
        options = uvicorn_options(serve_options)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    shared_state_path = None
    if workers > 1 or state_dir is not None:
        folder = state_dir or Path(tempfile.mkdtemp(prefix="maaskit-state-"))
        folder.mkdir(parents=True, exist_ok=True)
        shared_state_path = folder / "state.sqlite3"
        if workers > 1:
            # Before any worker imports prometheus_client: it reads this at import.
            os.environ[MULTIPROC_ENV] = str(prepare_multiprocess_dir(folder / "prometheus"))
    settings = ServerSettings(
        models_dir=models_dir,
        shared_state_path=shared_state_path,
        api_key_hashes=tuple(digests),
        keys_file=api_keys_file.resolve() if api_keys_file is not None else None,
        max_body_bytes=max_body_bytes,
        body_timeout_s=body_timeout_s,
        access_log_json=access == "json",
        max_inputs_per_request=max_inputs_per_request,
        max_queue_size=max_queue_size,
        intra_op_threads=intra_op_threads,
        encoder_lanes=encoder_lanes,
        rate_limit_rpm=rate_limit_rpm,
        load_delay_s=load_delay_from_env(),
        faults_enabled=enable_faults,
        fault_admin_key_sha256=hash_key(fault_admin_key).hex() if fault_admin_key else "",
        idempotency_ttl_s=idempotency_ttl_s,
        idempotency_max_entries=idempotency_max_entries,
    )
    logging.basicConfig(level=log_level.upper(), format="%(levelname)s:     %(name)s %(message)s")
    if access == "json":
        write_json_access_log()
    keys = len(digests) + file_keys
    auth = f"{keys} API key(s), {file_keys} from {api_keys_file}" if keys else "no API keys (open)"
    url = f"{serve_options.scheme}://{host}:{port}"
    mtls = " (client certificates required)" if ssl_require_client_cert else ""
    click.echo(f"maaskit: serving {models_dir} on {url}{mtls} with {auth}", err=True)
    if enable_faults:
        click.echo("maaskit: WARNING fault injection is enabled (test servers only)", err=True)
    if workers == 1:
        run_server(create_app(settings), options)
        return
    os.environ[SETTINGS_ENV] = settings.to_json()
    run_workers("maaskit_server.app:create_app_from_env", workers, options)


def _check_models_dir(models_dir: Path) -> None:
    """A folder without a model would start a server that is never ready: refuse it now."""
    if not models_dir.is_dir():
        raise click.BadParameter(f"{models_dir} is not a folder", param_hint="--models")
    if not model_folders(models_dir):
        raise click.BadParameter(
            f"{models_dir} holds no model folder. A model folder has model.onnx, tokenizer.json "
            "and config.json (what optimum-cli export onnx writes), with an optional "
            "maaskit.json; --models takes one such folder or a folder of them.",
            param_hint="--models",
        )
