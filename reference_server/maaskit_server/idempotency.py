"""``Idempotency-Key`` on POST routes: a retried request is answered from the first run.

Rules (the Stripe / IETF draft semantics, made concrete):

* A POST with an ``Idempotency-Key`` header runs once. A repeat (same key, same credentials,
  same method, path and body) within ``ttl_s`` replays the stored answer: status, headers and
  body, plus ``Idempotent-Replayed: true``; the model does not run again.
* A repeat that arrives while the first is still running waits for it (up to ``wait_s``, then
  409, which clients retry), then replays.
* The same key with another body, path or method is a 422 in the protocol's error shape
  (``code: idempotency_key_reused``).
* What is stored: completed, non-streamed answers with a status below 500, except 408, 409
  and 429 (those say "try again", so replaying them would make a retry useless) and 499. A
  5xx, an exception, or a connection lost before the answer was produced (whatever status the
  route then gives) stores nothing: the next
  attempt runs the request (that is a retry of a failed run, not a duplicate).
* Streams (``text/event-stream``, NDJSON) are not stored: a stream cannot be replayed to a
  client that already consumed part of it, and the SDK never retries a stream after its first
  chunk. A repeat while a stream runs waits for it to end; a repeat of a key whose stream
  completed runs again and is counted in ``duplicate_execution``.
* The answer is stored after it was handed to the server, also when handing it over failed
  (the connection reset): the model ran, so a retry gets that result instead of a second run.

Memory is bounded by ``max_entries`` and ``max_total_bytes`` (oldest dropped first) and by
the TTL. Counters: ``maaskit_idempotency_requests{outcome}`` with outcome ``executed``,
``replayed``, ``waited``, ``conflict``, ``busy`` and ``duplicate_execution`` (a key executed
again after an earlier run of it succeeded; the chaos tests require 0). One worker keeps the
answers in memory; several share them in SQLite (:mod:`maaskit_server.idempotency_shared`), so
a retry that reaches another worker is still replayed.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import metrics
from .errors import APIError, error_response
from .faults._middleware import read_body

__all__ = ["IdempotencyMiddleware", "IdempotencyStore", "StoredResponse"]

# 499 (the client disconnected) too: it is no answer to the request, only the record that
# nobody waited for one. Stored, it was replayed to the SDK's retry for the whole TTL.
_UNSTORED_STATUSES = frozenset({408, 409, 429, 499})
_STREAM_TYPES = ("text/event-stream", "application/x-ndjson", "application/jsonl")
_MAX_KEY_LENGTH = 255


@dataclass
class StoredResponse:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


@dataclass
class Entry:
    fingerprint: str
    created: float
    done: asyncio.Event = field(default_factory=asyncio.Event)
    running: bool = True
    succeeded: bool = False
    response: StoredResponse | None = None


class IdempotencyStore:
    """The answers of one process, in memory (:class:`~maaskit_server.idempotency_shared.
    SharedIdempotencyStore` keeps them for all the workers of a server)."""

    def __init__(
        self,
        *,
        ttl_s: float = 600.0,
        max_entries: int = 10_000,
        max_total_bytes: int = 256 * 1024 * 1024,
        wait_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self.max_total_bytes = max_total_bytes
        self.wait_s = wait_s
        self._clock = clock
        self._entries: OrderedDict[str, Entry] = OrderedDict()
        self._bytes = 0
        self.counts: Counter[str] = Counter()

    def count(self, outcome: str) -> None:
        self.counts[outcome] += 1
        metrics.IDEMPOTENCY.labels(outcome=outcome).inc()

    def get(self, key: str) -> Entry | None:
        self._expire()
        return self._entries.get(key)

    async def wait(self, key: str, entry: Entry) -> bool:
        """Wait for the run of ``entry`` to end; False after ``wait_s``."""
        try:
            await asyncio.wait_for(entry.done.wait(), self.wait_s)
        except asyncio.TimeoutError:
            return False
        return True

    def start(self, key: str, fingerprint: str) -> Entry | None:
        """Begin a run of ``key`` (None: another run began meanwhile; never here, where
        nothing awaits between :meth:`get` and this)."""
        self._drop(key)
        entry = Entry(fingerprint, self._clock())
        self._entries[key] = entry
        self._shrink()
        return entry

    def store(self, key: str, entry: Entry, response: StoredResponse) -> None:
        if self._entries.get(key) is not entry or len(response.body) > self.max_total_bytes:
            return  # evicted meanwhile, or too large to keep: the next repeat runs again
        entry.response = response
        self._bytes += len(response.body)
        self._shrink()

    def finish(self, key: str, entry: Entry) -> None:
        entry.running = False
        entry.done.set()

    def stats(self) -> dict[str, Any]:
        self._expire()
        return {
            **{outcome: self.counts[outcome] for outcome in _OUTCOMES},
            "entries": len(self._entries),
            "in_flight": sum(1 for entry in self._entries.values() if entry.running),
            "stored_bytes": self._bytes,
        }

    def _drop(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None and entry.response is not None:
            self._bytes -= len(entry.response.body)

    def _expire(self) -> None:
        deadline = self._clock() - self.ttl_s
        # Entries are in creation order, so the expired ones are at the front.
        while self._entries:
            key, entry = next(iter(self._entries.items()))
            if entry.created > deadline:
                break
            self._drop(key)

    def _shrink(self) -> None:
        while self._entries and (
            len(self._entries) > self.max_entries or self._bytes > self.max_total_bytes
        ):
            self._drop(next(iter(self._entries)))


_OUTCOMES = ("executed", "replayed", "waited", "conflict", "busy", "duplicate_execution")


def _scoped_key(headers: Headers, key: str) -> str:
    # Two tenants may pick the same key: scope it by the credentials presented (hashed).
    credentials = headers.get("authorization", "") + "\0" + headers.get("api-key", "")
    return hashlib.sha256(credentials.encode()).hexdigest()[:32] + ":" + key


def _fingerprint(method: str, path: str, query: bytes, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query, body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, store: IdempotencyStore) -> None:
        self.app = app
        self.store = store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope) if scope["type"] == "http" else None
        key = headers.get("idempotency-key", "").strip() if headers is not None else ""
        if headers is None or scope.get("method") != "POST" or not key:
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        if len(key) > _MAX_KEY_LENGTH:
            error = APIError(400, "Idempotency-Key is longer than 255 characters.")
            await error_response(path, error)(scope, receive, send)
            return
        body, receive = await read_body(receive)
        fingerprint = _fingerprint("POST", path, scope.get("query_string", b""), body)
        scoped = _scoped_key(headers, key)
        store = self.store
        while True:
            entry = store.get(scoped)
            if entry is not None and entry.fingerprint != fingerprint:
                store.count("conflict")
                await error_response(path, _reused(key))(scope, receive, send)
                return
            if entry is not None and entry.response is not None:
                store.count("replayed")
                await _replay(entry.response, send)
                return
            if entry is not None and entry.running:
                store.count("waited")
                if not await store.wait(scoped, entry):
                    store.count("busy")
                    await error_response(path, _busy(key))(scope, receive, send)
                    return
                continue  # the first run ended: replay it, or run if nothing was stored
            started = store.start(scoped, fingerprint)
            if started is None:
                continue  # another worker began a run of this key meanwhile: wait for it
            if entry is not None and entry.succeeded:
                store.count("duplicate_execution")
            break
        await self._execute(scope, receive, send, scoped, started)

    async def _execute(
        self, scope: Scope, receive: Receive, send: Send, key: str, entry: Entry
    ) -> None:
        store = self.store
        store.count("executed")
        start: Message | None = None
        chunks: list[bytes] = []
        buffering = False
        complete = False
        disconnected = False

        async def watch_receive() -> Message:
            nonlocal disconnected
            message = await receive()
            if message["type"] == "http.disconnect":
                disconnected = True
            return message

        async def capture(message: Message) -> None:
            nonlocal start, buffering, complete
            if message["type"] == "http.response.start":
                start = message
                content_type = Headers(raw=message.get("headers", [])).get("content-type", "")
                status = int(message["status"])
                buffering = status < 500 and status not in _UNSTORED_STATUSES
                buffering = buffering and not content_type.startswith(_STREAM_TYPES)
                if not buffering:
                    await send(message)
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            more = bool(message.get("more_body", False))
            if not buffering:
                complete = not more
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if more:
                return
            assert start is not None
            if disconnected:
                # The client left before the answer was produced: whatever the route made of
                # that is not the request's answer, so a retry must run it, not replay this.
                await send(start)
                await send({"type": "http.response.body", "body": b"".join(chunks)})
                complete = False
                return
            response = StoredResponse(
                int(start["status"]), list(start["headers"]), b"".join(chunks)
            )
            complete = True
            try:
                await send(start)
                await send({"type": "http.response.body", "body": response.body})
            finally:
                # Stored even when handing it over failed: the model ran, a retry replays it.
                store.store(key, entry, response)

        try:
            await self.app(scope, watch_receive, capture)
        finally:
            status = int(start["status"]) if start is not None else 500
            entry.succeeded = complete and status < 500
            store.finish(key, entry)


async def _replay(response: StoredResponse, send: Send) -> None:
    headers = [*response.headers, (b"idempotent-replayed", b"true")]
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})


def _reused(key: str) -> APIError:
    return APIError(
        422,
        f"Idempotency-Key {key!r} was already used with a different request "
        "(method, path or body); use a new key for a new request.",
        param="Idempotency-Key",
        code="idempotency_key_reused",
    )


def _busy(key: str) -> APIError:
    return APIError(
        409,
        f"A request with Idempotency-Key {key!r} is still running; retry later.",
        param="Idempotency-Key",
        code="idempotency_key_in_use",
    )
