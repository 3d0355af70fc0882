"""API key records and the keys file: its format, writing it, and reloading it when it changes.

A keys file holds one key per line, never the key itself, only its SHA-256 digest::

    # id      sha256 digest (64 hex)  scopes and limits, all optional
    team-a    9f86d081884c7d65...     models=sentiment,all-minilm-l6-v2 rpm=60 tpm=20000
    ops       60303ae22b998861...     routes=metrics
    root      fd61a03af4f77d87...     routes=inference,metrics,admin

* ``models=`` the models the key may use (default: every model); others are unlisted and
  answer 404, as if they did not exist.
* ``routes=`` the route groups it may use: ``inference`` (every model route), ``metrics``
  (``/metrics``) and ``admin`` (the ``/_maaskit`` fault and key routes); default ``inference``.
* ``rpm=`` / ``tpm=`` requests and tokens per minute for this key (token buckets); default: the
  server-wide ``--rate-limit-rpm``, and no token limit.

The first format (``<digest> [model-a,model-b]`` lines, no id) still reads: such a key gets an
id made of its digest's first 12 hex digits, the models listed, and ``inference`` plus (when it
is not limited to some models) ``metrics``, which is what it could use before route scopes.

:class:`KeysFile` re-reads the file when its modification time, size or inode changes, checked
at most once per ``poll_s`` when a request arrives, so a revoked key is refused within
``poll_s`` (1 s) without a restart. A file that does not parse keeps the keys read before it
(and logs why), so a half-saved edit never locks everyone out. ``maaskit keys`` writes the file
atomically (a temporary file renamed over it).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import secrets
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger("maaskit_server")

ROUTE_SCOPES = frozenset({"inference", "metrics", "admin"})
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
KEY_PREFIX = "mk-"


class KeysFileError(ValueError):
    """A keys file line that does not parse; the message names the file and line."""


@dataclass(frozen=True)
class KeyRecord:
    digest: bytes
    models: frozenset[str] | None = None  # None: every model
    key_id: str = ""
    # Keys given on the command line are the operator's own: every route group.
    routes: frozenset[str] = ROUTE_SCOPES
    requests_per_minute: int | None = None  # None: the server-wide limit
    tokens_per_minute: int | None = None  # None: no token limit

    @property
    def id(self) -> str:
        return self.key_id or self.digest.hex()[:12]

    def __repr__(self) -> str:
        scope = "all models" if self.models is None else f"{len(self.models)} model(s)"
        return f"KeyRecord({self.id!r}, {scope}, routes={sorted(self.routes)})"

    def to_line(self) -> str:
        fields = [self.id, self.digest.hex()]
        if self.models is not None:
            fields.append("models=" + ",".join(sorted(self.models)))
        fields.append("routes=" + ",".join(sorted(self.routes)))
        if self.requests_per_minute is not None:
            fields.append(f"rpm={self.requests_per_minute}")
        if self.tokens_per_minute is not None:
            fields.append(f"tpm={self.tokens_per_minute}")
        return " ".join(fields)


def hash_key(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


def new_key() -> str:
    """A new random API key (256 bits)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def parse_keys(text: str, source: str = "keys file") -> list[KeyRecord]:
    records: list[KeyRecord] = []
    seen: set[str] = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        fields = raw.split("#", 1)[0].split()
        if not fields:
            continue
        where = f"{source}:{number}"
        record = _legacy_line(fields, where) if _HEX64.fullmatch(fields[0]) else None
        if record is None:
            record = _line(fields, where)
        if record.id in seen:
            raise KeysFileError(f"{where}: the id {record.id!r} is used twice")
        seen.add(record.id)
        records.append(record)
    return records


def read_keys_file(path: Path) -> list[KeyRecord]:
    return parse_keys(path.read_text(encoding="utf-8"), str(path))


def _legacy_line(fields: list[str], where: str) -> KeyRecord:
    if len(fields) > 2:
        raise KeysFileError(f"{where}: models are one comma-separated list, no spaces")
    models = None
    if len(fields) == 2:
        models = frozenset(name for name in fields[1].split(",") if name)
        if not models:
            raise KeysFileError(f"{where}: an empty model list")
    routes = {"inference"} if models is not None else {"inference", "metrics"}
    return KeyRecord(bytes.fromhex(fields[0]), models, routes=frozenset(routes))


def _line(fields: list[str], where: str) -> KeyRecord:
    # The fields are never echoed: a mistaken line may hold a plain key.
    if len(fields) < 2 or not _HEX64.fullmatch(fields[1]):
        raise KeysFileError(
            f"{where}: not a SHA-256 hex digest (a keys file holds digests, never keys; "
            "'maaskit keys create' writes them). Lines are '<id> <sha256 hex digest> "
            "[models=...] [routes=...] [rpm=N] [tpm=N]' or the older '<sha256 hex digest> [models]'"
        )
    if not _ID.fullmatch(fields[0]):
        raise KeysFileError(f"{where}: a key id is letters, digits and ._- (up to 64)")
    options: dict[str, str] = {}
    for field in fields[2:]:
        name, sep, value = field.partition("=")
        if not sep or name not in ("models", "routes", "rpm", "tpm") or name in options:
            raise KeysFileError(f"{where}: unknown or repeated field {field!r}")
        options[name] = value
    models = None
    if "models" in options:
        models = frozenset(item for item in options["models"].split(",") if item)
        if not models:
            raise KeysFileError(f"{where}: an empty model list")
    routes = frozenset({"inference"})
    if "routes" in options:
        routes = frozenset(item for item in options["routes"].split(",") if item)
        unknown = sorted(routes - ROUTE_SCOPES)
        if unknown or not routes:
            raise KeysFileError(
                f"{where}: routes are some of {', '.join(sorted(ROUTE_SCOPES))}, "
                f"not {','.join(unknown) or 'nothing'}"
            )
    limits = {
        name: _positive(options[name], name, where) for name in ("rpm", "tpm") if name in options
    }
    return KeyRecord(
        bytes.fromhex(fields[1]),
        models,
        key_id=fields[0],
        routes=routes,
        requests_per_minute=limits.get("rpm"),
        tokens_per_minute=limits.get("tpm"),
    )


def _positive(value: str, name: str, where: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise KeysFileError(f"{where}: {name} must be a whole number of at least 1")
    return int(value)


def write_keys_file(path: Path, records: Iterable[KeyRecord]) -> None:
    """Replace ``path`` atomically (readers see the old file or the new one, never half)."""
    lines = ["# maaskit keys file: <id> <sha256 of the key> [models=] [routes=] [rpm=] [tpm=]"]
    lines.extend(record.to_line() for record in records)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write("\n".join(lines) + "\n")
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


class KeysFile:
    """The records of a keys file, re-read when the file changes (checked every ``poll_s``)."""

    def __init__(
        self, path: Path, *, poll_s: float = 1.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.path = path
        self.poll_s = poll_s
        self._clock = clock
        self._lock = threading.Lock()
        self._signature = self._stat()
        self._records = tuple(read_keys_file(path))
        self._checked = clock()
        self.reloads = 0

    def records(self) -> tuple[KeyRecord, ...]:
        now = self._clock()
        if now - self._checked >= self.poll_s:
            with self._lock:
                if now - self._checked >= self.poll_s:
                    self._checked = now
                    self._reload_if_changed()
        return self._records

    def _stat(self) -> tuple[int, int, int] | None:
        try:
            info = self.path.stat()
        except OSError:
            return None
        return (info.st_mtime_ns, info.st_size, info.st_ino)

    def _reload_if_changed(self) -> None:
        signature = self._stat()
        if signature == self._signature:
            return
        try:
            records = tuple(read_keys_file(self.path))
        except (OSError, UnicodeDecodeError, KeysFileError) as exc:
            # Keep the keys read before: a half-saved edit must not lock everyone out. Logged
            # once per change of the file, not once per poll.
            self._signature = signature
            logger.error("keys file %s not reloaded, keeping the previous keys: %s", self.path, exc)
            return
        self._signature = signature
        self._records = records
        self.reloads += 1
        logger.info("keys file %s reloaded: %d key(s)", self.path, len(records))

    def __repr__(self) -> str:
        return f"KeysFile({str(self.path)!r}, {len(self._records)} keys)"
