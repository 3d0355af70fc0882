"""State that all worker processes of one server share: an SQLite database in WAL mode.

With ``--workers N`` each uvicorn worker is its own process, so in-memory rate-limit buckets
allowed N times the limit, and a retry that reached another worker than its first attempt ran
again instead of being replayed. The CLI therefore gives every worker the same SQLite file on
the local disk (WAL: readers never block the one writer; every change is one short
``BEGIN IMMEDIATE`` transaction, so two workers never interleave a read-modify-write).
A single-worker server keeps its state in memory.

SQLite's locks work on a local disk only (not on NFS), which is where the CLI puts the file:
``--state-dir`` or a temporary folder of its own.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS buckets (
    name TEXT PRIMARY KEY,
    tokens REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS idempotency (
    key TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    created REAL NOT NULL,
    running INTEGER NOT NULL,
    succeeded INTEGER NOT NULL,
    status INTEGER,
    headers BLOB,
    body BLOB
);
CREATE INDEX IF NOT EXISTS idempotency_created ON idempotency (created);
"""


class SharedState:
    """One SQLite database; a connection per thread (sqlite3 connections are not shared)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        # executescript commits by itself; CREATE ... IF NOT EXISTS makes it safe to race.
        self._connection().executescript(_SCHEMA)

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            # Autocommit mode: transactions are opened explicitly (BEGIN IMMEDIATE) below.
            connection = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)
            connection.execute("PRAGMA journal_mode=WAL")
            # WAL with synchronous=NORMAL is durable against process crashes, which is all that
            # state living no longer than the server needs.
            connection.execute("PRAGMA synchronous=NORMAL")
            self._local.connection = connection
        return connection

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        db = self._connection()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def __repr__(self) -> str:
        return f"SharedState({str(self.path)!r})"
