"""The ``maaskit`` command: ``serve``, ``keys``, ``models``, ``train classification``, ``eval``
and ``demo``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import click

from .audit import write_json_access_log
from .cli_keys import keys
from .connections import DEFAULT_MAX_HEAD_BYTES
from .keys import KeysFileError, hash_key, read_keys_file
from .security import parse_keys_env
from .serving import ServeOptions, run_workers, uvicorn_options
from .settings import DEFAULT_MODELS_DIR, SETTINGS_ENV, ServerSettings, load_delay_from_env

KEYS_ENV = "MAASKIT_API_KEYS"
_MODELS_OPTION = click.option(
    "--models",
    "models_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_MODELS_DIR,
    show_default="the bundled default models",
    help="Folder of model folders (optimum ONNX export layout).",
)


@click.group()
@click.version_option(package_name="maaskit")
def main() -> None:
    """maaskit: a MaaS client toolkit and a reference server that behaves like the real ones."""


@main.command()
@_MODELS_OPTION
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
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
@click.option("--max-body-bytes", default=2 * 1024 * 1024, show_default=True, type=int)
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
    default=5,
    show_default=True,
    type=click.IntRange(1),
    help="Seconds an idle keep-alive connection is kept.",
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
@click.option("--max-inputs-per-request", default=2048, show_default=True, type=int)
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
@click.option("--log-level", default="info", show_default=True)
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
    import uvicorn

    from .app import create_app

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
        uvicorn.run(create_app(settings), **options)
        return
    os.environ[SETTINGS_ENV] = settings.to_json()
    run_workers("maaskit_server.app:create_app_from_env", workers, options)


main.add_command(keys)


@main.group()
def models() -> None:
    """List or re-build model folders."""


@models.command("list")
@_MODELS_OPTION
def list_models(models_dir: Path) -> None:
    """Load every model in MODELS once and show what would serve."""
    from .repository import ModelRepository
    from .runtimes import RuntimeContext

    async def load() -> list[dict[str, object]]:
        with ThreadPoolExecutor(2) as executor:
            repository = ModelRepository(models_dir, RuntimeContext(executor))
            repository.scan()
            await repository.load_all()
            await repository.close()
            return [entry.summary() for entry in repository.entries()]

    summaries = asyncio.run(load())
    if not summaries:
        click.echo(f"no model folders in {models_dir}")
        return
    click.echo(f"{'NAME':<22} {'TASK':<16} {'STATUS':<12} {'SIZE':>9}  DETAILS")
    for summary in summaries:
        size = f"{int(str(summary['size_bytes'])) / 1e6:.1f} MB"
        click.echo(
            f"{summary['name']!s:<22} {summary['task']!s:<16} {summary['status']!s:<12} "
            f"{size:>9}  {_details(summary)}"
        )


def _details(summary: dict[str, object]) -> str:
    if summary["reason"]:
        return f"reason: {summary['reason']}"
    if summary.get("labels"):
        return "labels: " + ", ".join(map(str, summary["labels"]))  # type: ignore[call-overload]
    if summary.get("dimensions"):
        return f"dimensions: {summary['dimensions']}"
    return ""


@models.command("build")
@click.argument("names", nargs=-1)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_MODELS_DIR,
    show_default="the bundled models folder",
)
def build_models(names: tuple[str, ...], out_dir: Path) -> None:
    """Re-create the default models NAMES (all of them when none is given)."""
    from ._build import BUILDERS, build

    unknown = sorted(set(names) - set(BUILDERS))
    if unknown:
        raise click.BadParameter(
            f"unknown model(s) {', '.join(unknown)}; known: {', '.join(sorted(BUILDERS))}",
            param_hint="NAMES",
        )
    for name in names or tuple(BUILDERS):
        click.echo(f"building {name} into {out_dir / name} ...")
        try:
            build(name, out_dir)
        except ImportError as exc:
            raise click.ClickException(
                f"building models needs the export extra ({exc.name or exc} is missing): "
                'pip install "maaskit[export]"'
            ) from exc
        click.echo(f"built {name}")


@models.command("export-triton")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@_MODELS_OPTION
@click.option(
    "--backend",
    type=click.Choice(["python", "onnxruntime", "ensemble"]),
    default="python",
    show_default=True,
    help="python: Triton models that take text and answer like this server (tokenizer, pooling "
    "and labels in model.py); onnxruntime: the ONNX graphs alone, taking token ids; ensemble: "
    "the graphs on Triton's onnxruntime backend between Python tokenize and postprocess steps.",
)
def export_triton(out: Path, models_dir: Path, backend: str) -> None:
    """Write MODELS as a Triton / KServe model repository in OUT (config.pbtxt + 1/...)."""
    from .triton_export import ExportError, export_repository

    try:
        exported = export_repository(models_dir, out, backend=backend)
    except (ExportError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    if not exported:
        raise click.ClickException(f"no model folders in {models_dir}")
    for item in exported:
        if item.skipped:
            click.echo(f"skipped {item.name} ({item.task}): {item.skipped}")
        else:
            click.echo(f"exported {item.name} ({item.task}) to {item.path}")
    if backend == "onnxruntime":
        click.echo("Triton serves token ids: tokenize in the client or in an ensemble in front.")
    else:
        click.echo(
            "Triton's python backend runs model.py: it needs numpy, onnxruntime and tokenizers "
            "in the Python of Triton's stub. The models take a BYTES input named 'text'."
        )


class TrainingFailed(click.ClickException):
    """A refused training run: one line on stderr, exit status 2 (bad input, like click's)."""

    exit_code = 2


@main.group()
def train() -> None:
    """Train models on your own data."""


@train.command("classification")
@click.option(
    "--data",
    "data",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Labelled rows: .csv (with a header row) or .jsonl (one object per line), UTF-8.",
)
@click.option("--text-column", default="text", show_default=True)
@click.option("--label-column", default="label", show_default=True)
@click.option(
    "--base",
    default="all-minilm-l6-v2",
    show_default=True,
    help="Encoder model folder, or the name of a default model.",
)
@click.option(
    "--method",
    type=click.Choice(["head", "finetune"]),
    default="head",
    show_default=True,
    help="head: linear classifier on the frozen encoder (no torch); finetune: train the whole "
    "encoder (needs the export extra).",
)
@click.option("--seed", default=0, show_default=True, type=int)
@click.option(
    "--test-split",
    default=0.2,
    show_default=True,
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    help="Fraction of each label held out for evaluation.",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path),
    help="The model folder to write (MODELS_DIR/NAME; NAME is the served model's name).",
)
@click.option("--overwrite", is_flag=True, help="Replace --out if it exists.")
@click.option(
    "--regularization",
    default=None,
    type=click.FloatRange(0, min_open=True),
    help="head: inverse L2 strength (C) of the logistic regression "
    "(default: chosen by cross-validation on the training split).",
)
@click.option("--epochs", default=3, show_default=True, type=click.IntRange(1), help="finetune.")
def train_classification(
    data: Path,
    text_column: str,
    label_column: str,
    base: str,
    method: str,
    seed: int,
    test_split: float,
    out: Path,
    overwrite: bool,
    regularization: float | None,
    epochs: int,
) -> None:
    """Train a text classifier on DATA and write a model folder that `maaskit serve` serves."""
    try:
        from .training import RichProgress, TrainingError, train_classifier
        from .training.summary import print_summary
    except ImportError as exc:
        raise TrainingFailed(
            f"training needs the train extra ({exc.name or exc} is missing): "
            'pip install "maaskit[train]"'
        ) from exc
    progress = RichProgress()
    try:
        result = train_classifier(
            data,
            out,
            text_column=text_column,
            label_column=label_column,
            base=base,
            method=method,
            seed=seed,
            test_split=test_split,
            overwrite=overwrite,
            regularization=regularization,
            epochs=epochs,
            progress=progress,
        )
    except TrainingError as exc:
        raise TrainingFailed(str(exc)) from exc
    print_summary(result, progress.console)


@main.command()
@click.option("--timeout", default=180.0, show_default=True, help="Seconds to wait for /ready.")
def demo(timeout: float) -> None:
    """Start the reference server, call it through the SDK, print the answers, stop it."""
    from ._demo import DemoError, run_demo

    try:
        run_demo(timeout_s=timeout, echo=click.echo)
    except DemoError as exc:
        raise click.ClickException(str(exc)) from exc


def _label_maps(values: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """``ENDPOINT:THEIRS=OURS,THEIRS=OURS`` options → {endpoint: {their label: our label}}."""
    maps: dict[str, dict[str, str]] = {}
    for value in values:
        name, colon, pairs = value.partition(":")
        mapping = dict(pair.split("=", 1) for pair in pairs.split(",") if "=" in pair)
        if not colon or not name or not mapping:
            raise click.BadParameter(
                f"{value!r}: expected ENDPOINT:THEIR_LABEL=OUR_LABEL[,...]",
                param_hint="--label-map",
            )
        maps.setdefault(name, {}).update(mapping)
    return maps


@main.command("eval")
@click.option("--task", required=True, type=click.Choice(["classify", "embed", "chat", "complete"]))
@click.option(
    "--data",
    required=True,
    help="A .jsonl or .csv file, or a shipped set: sentiment, retrieval, sts, completion.",
)
@click.option(
    "--config",
    "config_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="TOML file of [[endpoints]] (as Client.from_config reads).",
)
@click.option("--model", help="Public model name the endpoints serve.")
@click.option("--endpoint", "names", multiple=True, help="Evaluate only this one (repeatable).")
@click.option("--limit", type=click.IntRange(1), help="Evaluate the first N rows only.")
@click.option("--concurrency", default=4, show_default=True, type=click.IntRange(1, 256))
@click.option("--batch-size", default=1, show_default=True, type=click.IntRange(1, 2048))
@click.option("--labels", help="Comma-separated allowed labels (classify), in display order.")
@click.option("--label-map", "label_maps", multiple=True, metavar="ENDPOINT:THEIRS=OURS,...")
@click.option(
    "--scorer", help="chat/complete: exact, normalized, contains, regex or module:function."
)
@click.option("--max-tokens", type=click.IntRange(1), help="chat/complete: tokens per answer.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--plot", "plot_out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--min-quality", type=click.FloatRange(0, 1), help="best_value: quality floor.")
@click.option("--max-p95-ms", type=click.FloatRange(0, min_open=True), help="best_value: p95.")
@click.option("--progress/--no-progress", default=True, show_default=True)
def eval_command(
    task: str,
    data: str,
    config_path: Path,
    model: str | None,
    names: tuple[str, ...],
    limit: int | None,
    concurrency: int,
    batch_size: int,
    labels: str | None,
    label_maps: tuple[str, ...],
    scorer: str | None,
    max_tokens: int | None,
    json_out: Path | None,
    plot_out: Path | None,
    min_quality: float | None,
    max_p95_ms: float | None,
    progress: bool,
) -> None:
    """Measure endpoints on labelled data: quality, latency and cost side by side."""
    import maaskit.eval as maaseval
    from maaskit import load_config

    try:
        settings = load_config(config_path)
        endpoints = maaseval.select_endpoints(settings.endpoints, names)
        hook = maaseval.RichProgress() if progress else None
        with hook if hook is not None else contextlib.nullcontext():
            report = maaseval.evaluate(
                endpoints,
                task=task,  # type: ignore[arg-type]  # click.Choice checked it
                data=maaseval.resolve_data(data),
                model=model or maaseval.default_model(endpoints),
                limit=limit,
                concurrency=concurrency,
                batch_size=batch_size,
                labels=labels.split(",") if labels else None,
                label_map=_label_maps(label_maps),
                scorer=scorer,
                params={"max_tokens": max_tokens} if max_tokens else None,
                min_quality=min_quality,
                max_p95_ms=max_p95_ms,
                progress=hook,
                client_options=settings.options,
            )
        if json_out is not None:  # first: the measurement is kept whatever fails below
            report.write_json(json_out)
        maaseval.render_table(report)
        if json_out is not None:
            click.echo(f"report written to {json_out}")
        if plot_out is not None:
            maaseval.write_plot(report, plot_out)
            click.echo(f"plot written to {plot_out}")
    except (ValueError, TypeError, ImportError, OSError) as exc:  # DataError, ScorerError...
        raise click.ClickException(str(exc)) from exc
    if all(entry.quality is None for entry in report.endpoints):
        raise click.ClickException("no endpoint answered: nothing was measured")
