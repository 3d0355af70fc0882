"""``maaskit models list|build|export-triton``: the model folders on this machine."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import click

from ..settings import DEFAULT_MODELS_DIR
from ._options import MODELS_OPTION


@click.group()
def models() -> None:
    """List or re-build model folders."""


@models.command("list")
@MODELS_OPTION
def list_models(models_dir: Path) -> None:
    """Load every model in MODELS once and show what would serve; exit status 1 when a model
    fails to load. (A running server's models: maaskit models list --base-url URL.)"""
    from ..repository import ModelRepository
    from ..runtimes import RuntimeContext

    async def load() -> list[dict[str, object]]:
        with ThreadPoolExecutor(2) as executor:
            repository = ModelRepository(models_dir, RuntimeContext(executor))
            repository.scan()
            await repository.load_all()
            await repository.close()
            return [entry.summary() for entry in repository.entries()]

    if not models_dir.is_dir():
        raise click.BadParameter(f"{models_dir} is not a folder", param_hint="--models")
    # The table shows why a model failed; the repository's log record would add a traceback.
    repository_log = logging.getLogger("maaskit_server.repository")
    repository_log.disabled = True
    try:
        summaries = asyncio.run(load())
    finally:
        repository_log.disabled = False
    if not summaries:
        raise click.ClickException(f"no model folders in {models_dir}")
    click.echo(f"{'NAME':<22} {'TASK':<16} {'STATUS':<12} {'SIZE':>9}  DETAILS")
    for summary in summaries:
        size = f"{int(str(summary['size_bytes'])) / 1e6:.1f} MB"
        click.echo(
            f"{summary['name']!s:<22} {summary['task']!s:<16} {summary['status']!s:<12} "
            f"{size:>9}  {_details(summary)}"
        )
    broken = [str(s["name"]) for s in summaries if s["status"] in ("failed", "unsupported")]
    if broken:
        raise click.ClickException(f"{len(broken)} model(s) cannot serve: {', '.join(broken)}")


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
    help="Folder to write the model folders into.",
)
def build_models(names: tuple[str, ...], out_dir: Path) -> None:
    """Re-create the default models NAMES (all of them when none is given)."""
    from .._build import BUILDERS, build

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
@MODELS_OPTION
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
    from ..triton_export import ExportError, export_repository

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
