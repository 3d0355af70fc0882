"""``maaskit keys create|list|revoke --keys-file F``: manage a server's keys file.

``create`` prints the new key once, on stdout, and stores only its SHA-256 digest; nothing
can show it again. A running server re-reads the file within a second of a change, so a
revoked key is refused without a restart.
"""

from __future__ import annotations

from pathlib import Path

import click

from ..keys import (
    ROUTE_SCOPES,
    KeyRecord,
    KeysFileError,
    hash_key,
    new_key,
    parse_keys,
    read_keys_file,
    write_keys_file,
)

_KEYS_FILE = click.option(
    "--keys-file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The keys file the server reads (--api-keys-file of maaskit serve).",
)


def _csv(value: str | None) -> frozenset[str] | None:
    if value is None:
        return None
    items = frozenset(item.strip() for item in value.split(",") if item.strip())
    return items or None


def _read(path: Path) -> list[KeyRecord]:
    if not path.exists():
        return []
    try:
        return read_keys_file(path)
    except KeysFileError as exc:
        raise click.ClickException(str(exc)) from exc


@click.group()
def keys() -> None:
    """Create, list and revoke API keys in a keys file."""


@keys.command("create")
@_KEYS_FILE
@click.option("--id", "key_id", required=True, help="A name for the key (letters, digits, ._-).")
@click.option("--models", help="Comma-separated models the key may use (default: all).")
@click.option(
    "--routes",
    default="inference",
    show_default=True,
    help=f"Comma-separated route groups: {', '.join(sorted(ROUTE_SCOPES))}.",
)
@click.option("--rpm", type=click.IntRange(1), help="Requests per minute for this key.")
@click.option("--tpm", type=click.IntRange(1), help="Tokens per minute for this key.")
def create(
    keys_file: Path,
    key_id: str,
    models: str | None,
    routes: str,
    rpm: int | None,
    tpm: int | None,
) -> None:
    """Make a new key, store its digest, and print the key (only this once)."""
    records = _read(keys_file)
    if any(record.id == key_id for record in records):
        raise click.BadParameter(f"a key with id {key_id!r} exists already", param_hint="--id")
    key = new_key()
    options = [f"models={models}"] if _csv(models) else []
    options.append(f"routes={routes}")
    options.extend(f"{name}={value}" for name, value in (("rpm", rpm), ("tpm", tpm)) if value)
    line = " ".join([key_id, hash_key(key).hex(), *options])
    # Parsed like the server parses it, so a bad --id or --routes fails here, not at reload.
    try:
        (record,) = parse_keys(line, "the new key")
    except KeysFileError as exc:
        raise click.BadParameter(str(exc)) from exc
    write_keys_file(keys_file, [*records, record])
    click.echo(f"created key {key_id!r} in {keys_file}; it is shown only now:", err=True)
    click.echo(key)


@keys.command("list")
@_KEYS_FILE
def list_keys(keys_file: Path) -> None:
    """Show the keys' ids, scopes and limits (never the keys, which the file does not hold)."""
    records = _read(keys_file)
    if not records:
        click.echo(f"no keys in {keys_file}")
        return
    click.echo(f"{'ID':<20} {'ROUTES':<26} {'RPM':>6} {'TPM':>8}  MODELS")
    for record in records:
        click.echo(
            f"{record.id:<20} {','.join(sorted(record.routes)):<26} "
            f"{record.requests_per_minute or '-'!s:>6} {record.tokens_per_minute or '-'!s:>8}  "
            f"{','.join(sorted(record.models)) if record.models is not None else '(all)'}"
        )


@keys.command("revoke")
@_KEYS_FILE
@click.argument("key_id")
def revoke(keys_file: Path, key_id: str) -> None:
    """Remove key KEY_ID; a running server refuses it within a second."""
    records = _read(keys_file)
    kept = [record for record in records if record.id != key_id]
    if len(kept) == len(records):
        raise click.ClickException(f"no key with id {key_id!r} in {keys_file}")
    write_keys_file(keys_file, kept)
    click.echo(f"revoked key {key_id!r}")
