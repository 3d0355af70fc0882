"""Scripted, deterministic fault injection, for testing clients end to end.

**Off by default.** Only ``maaskit serve --enable-faults`` (``ServerSettings.faults_enabled``)
adds the middleware; without it the ``X-MaaSKit-Fault`` header is ignored and the admin routes
answer 404. Never enable it on a server that real users call.

A fault is chosen per request, by a request header or by the server-side script (a header
fault wins):

* header ``X-MaaSKit-Fault: status=503; times=2; retry_after=0``;
* script: ``POST /_maaskit/faults`` with ``{"rules": [{"fault": "status=503", "times": 2,
  "route": "/v1/*", "model": "sentiment"}]}`` and the admin key in ``X-MaaSKit-Admin-Key``
  (``--fault-admin-key``); ``GET`` reads the rules (``remaining``, ``fired``) and the counts
  of injected faults, ``PUT`` replaces the rules, ``DELETE`` clears everything. A rule hits
  the next ``times`` (default 1) requests whose path matches ``route`` (shell pattern) and
  whose model (JSON ``model`` field, or ``/v2/models/NAME``, ``/models/NAME``) is ``model``.

Grammar: ``directive (";" directive)*``, ``directive := name "=" value``:

==================  ==========================================================================
``status=N``        answer N (400 401 403 404 408 409 422 429 500 502 503 504 529) in the
                    protocol's error shape, **without running the model**
``retry_after=S``   with ``status``: a ``Retry-After: S`` header (seconds)
``retry_after_ms``  with ``status``: a ``retry-after-ms`` header
``latency_ms=MS``   wait MS before the response headers (the model has already run)
``drip_ms=MS``      wait MS between body chunks (between streamed events)
``reset=headers``   run the request, then reset the TCP connection (RST) instead of sending
                    the headers: the client gets a connection error and the answer is lost
``reset=N``         reset the connection after N body chunks (mid-stream)
``malformed=N``     after N chunks send one undecodable SSE event / NDJSON line, then end
``truncate=N``      end the body after N chunks (a stream without ``[DONE]`` / ``done``)
``error_event=N``   after N chunks send an in-band error event in the protocol's error shape
``stall=N``         after N chunks send nothing more, until the client goes (or
                    ``stall_max_s``, default 600, then reset)
``times=K``         only the first K requests with the same identity get the fault
``id=TEXT``         the identity for ``times``; default the ``Idempotency-Key`` header, else
                    the header text itself (per method and path)
==================  ==========================================================================

A chunk is one ASGI body message: one event of a streamed answer, the whole body of a JSON
one. If the body ends before chunk N, the response completes normally. At most one of
``reset``, ``malformed``, ``truncate``, ``error_event``, ``stall`` per fault; ``status`` takes
no stream directive. Responses carrying a fault have an ``X-MaaSKit-Fault-Injected`` header
and a body fault drops ``Content-Length`` (the body is sent chunked).

With ``times=K`` and the SDK's ``Idempotency-Key`` (the same on every attempt of a call),
``status=503; times=2; retry_after=0`` fails exactly the first two attempts of one call and
lets the third through, whatever other calls run concurrently.

How the reset works under uvicorn is explained in :mod:`maaskit_server.faults._reset`.
Counters: ``maaskit_faults_injected{kind}`` in ``/metrics``. State is per worker process.

Scripted answers (``/_maaskit/answers``) fix the next answer of a generation route instead of
breaking it; see :mod:`maaskit_server.faults._answers`.
"""

from __future__ import annotations

from ._answers import (
    AnswerScript,
    ScriptedAnswer,
    scripted_grammar,
    scripted_probabilities,
    scripted_vectors,
    take_answer,
)
from ._controller import FaultController, FaultRule, RequestFacts
from ._grammar import FaultSpec, FaultSyntaxError, parse_fault
from ._middleware import ADMIN_PREFIX, FAULT_HEADER, FaultMiddleware

__all__ = [
    "ADMIN_PREFIX",
    "FAULT_HEADER",
    "AnswerScript",
    "FaultController",
    "FaultMiddleware",
    "FaultRule",
    "FaultSpec",
    "FaultSyntaxError",
    "RequestFacts",
    "ScriptedAnswer",
    "parse_fault",
    "scripted_grammar",
    "scripted_probabilities",
    "scripted_vectors",
    "take_answer",
]
