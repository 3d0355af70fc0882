"""The idempotency store shared by all the workers of a server, in their SQLite state.

The same rules as :class:`~maaskit_server.idempotency.IdempotencyStore` (which documents
them); what differs is how a run is claimed and awaited across processes. Claiming a key is
one transaction (so two workers never both run it), and a repeat that finds the key running in
another worker polls until that run ends. A run whose worker died is abandoned after
``wait_s``: a later repeat claims the key and runs it. Counters are per worker process.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

from .idempotency import Entry, IdempotencyStore, StoredResponse
from .shared_state import SharedState

# How often a repeat looks whether another worker's run of its key ended.
_POLL_S = 0.02


class SharedIdempotencyStore(IdempotencyStore):
    def __init__(
        self,
        state: SharedState,
        *,
        ttl_s: float = 600.0,
        max_entries: int = 10_000,
        max_total_bytes: int = 256 * 1024 * 1024,
        wait_s: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(
            ttl_s=ttl_s,
            max_entries=max_entries,
            max_total_bytes=max_total_bytes,
            wait_s=wait_s,
            clock=clock,
        )
        self._state = state

    def get(self, key: str) -> Entry | None:
        with self._state.transaction() as db:
            db.execute("DELETE FROM idempotency WHERE created <= ?", (self._clock() - self.ttl_s,))
            row = db.execute(
                "SELECT fingerprint, created, running, succeeded, status, headers, body "
                "FROM idempotency WHERE key = ?",
                (key,),
            ).fetchone()
        if row is None:
            return None
        fingerprint, created, running, succeeded, status, headers, body = row
        entry = Entry(fingerprint, created, running=bool(running), succeeded=bool(succeeded))
        if status is not None:
            pairs = [
                (name.encode("latin-1"), value.encode("latin-1"))
                for name, value in json.loads(headers)
            ]
            entry.response = StoredResponse(int(status), pairs, bytes(body))
        return entry

    async def wait(self, key: str, entry: Entry) -> bool:
        deadline = time.monotonic() + self.wait_s
        while time.monotonic() < deadline:
            current = self.get(key)
            if current is None or current.created != entry.created or not current.running:
                return True
            await asyncio.sleep(_POLL_S)
        return False

    def start(self, key: str, fingerprint: str) -> Entry | None:
        now = self._clock()
        with self._state.transaction() as db:
            row = db.execute(
                "SELECT running, created FROM idempotency WHERE key = ?", (key,)
            ).fetchone()
            if row is not None and row[0] and row[1] > now - self.wait_s:
                return None  # claimed by another run that is still going
            db.execute(
                "INSERT OR REPLACE INTO idempotency "
                "(key, fingerprint, created, running, succeeded) VALUES (?, ?, ?, 1, 0)",
                (key, fingerprint, now),
            )
            (entries,) = db.execute("SELECT COUNT(*) FROM idempotency").fetchone()
            if entries > self.max_entries:
                db.execute(
                    "DELETE FROM idempotency WHERE key IN "
                    "(SELECT key FROM idempotency ORDER BY created LIMIT ?)",
                    (entries - self.max_entries,),
                )
        return Entry(fingerprint, now)

    def store(self, key: str, entry: Entry, response: StoredResponse) -> None:
        if len(response.body) > self.max_total_bytes:
            return
        headers = json.dumps(
            [(name.decode("latin-1"), value.decode("latin-1")) for name, value in response.headers]
        )
        with self._state.transaction() as db:
            db.execute(
                "UPDATE idempotency SET status = ?, headers = ?, body = ? "
                "WHERE key = ? AND created = ?",
                (response.status, headers, response.body, key, entry.created),
            )
            (stored,) = db.execute(
                "SELECT COALESCE(SUM(LENGTH(body)), 0) FROM idempotency"
            ).fetchone()
            if stored > self.max_total_bytes:
                # Oldest first, as in memory; one pass drops enough, roughly.
                db.execute(
                    "DELETE FROM idempotency WHERE key IN (SELECT key FROM idempotency "
                    "WHERE body IS NOT NULL ORDER BY created LIMIT ?)",
                    (max(1, (stored - self.max_total_bytes) // max(1, len(response.body))),),
                )
        entry.response = response

    def finish(self, key: str, entry: Entry) -> None:
        with self._state.transaction() as db:
            db.execute(
                "UPDATE idempotency SET running = 0, succeeded = ? WHERE key = ? AND created = ?",
                (int(entry.succeeded), key, entry.created),
            )
        entry.running = False

    def stats(self) -> dict[str, Any]:
        with self._state.transaction() as db:
            entries, in_flight, stored = db.execute(
                "SELECT COUNT(*), COALESCE(SUM(running), 0), COALESCE(SUM(LENGTH(body)), 0) "
                "FROM idempotency WHERE created > ?",
                (self._clock() - self.ttl_s,),
            ).fetchone()
        return {
            **{outcome: self.counts[outcome] for outcome in _OUTCOMES},
            "entries": entries,
            "in_flight": in_flight,
            "stored_bytes": stored,
        }


_OUTCOMES = ("executed", "replayed", "waited", "conflict", "busy", "duplicate_execution")
