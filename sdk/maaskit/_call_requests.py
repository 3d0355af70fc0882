"""The parts a call's requests are built from: one endpoint's form of the call, the headers
maaskit adds, and the per-client cache of parsed URLs and merged header sets.

``Call.build`` assembles an attempt's ``httpx.Request`` from these. The per-attempt pieces
(``own_headers``, ``RequestForms``) were tuned by instruction counts (callgrind, #19): they
take positional arguments and are called directly, never through another layer.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import BaseModel

from ._call_options import CallOptions
from ._endpoint import Endpoint
from ._exceptions import InvalidRequestError, InvalidRequestTypeError
from ._http import HttpRequest
from ._model_fields import field_of
from ._tasks import Task
from ._version import __version__

__all__ = [
    "ATTEMPT_HEADER",
    "IDEMPOTENCY_HEADER",
    "USER_AGENT",
    "PreparedRequest",
    "RequestForms",
    "as_refusal",
    "encode_json",
    "own_headers",
    "prepare_request",
]

IDEMPOTENCY_HEADER = "Idempotency-Key"
ATTEMPT_HEADER = "X-MaaSKit-Attempt"
USER_AGENT = f"maaskit/{__version__}"


def encode_json(body: Any, what: str) -> bytes:
    """The bytes httpx's ``json=`` would send; a body JSON cannot carry is an
    ``InvalidRequestTypeError`` (a ``TypeError``)."""
    try:
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidRequestTypeError(
            f"the {what} parameters are not JSON-serializable: {exc}"
        ) from None
    return text.encode()


def as_refusal(exc: ValueError | TypeError) -> InvalidRequestError:
    """A provider's refusal to express a request, as the typed error the caller sees."""
    if isinstance(exc, InvalidRequestError):
        return exc
    if isinstance(exc, TypeError):
        return InvalidRequestTypeError(str(exc))
    return InvalidRequestError(str(exc))


class RequestForms:
    """The fixed parts of a client's requests, built once: parsed URLs, and the client's
    headers merged with maaskit's as ``httpx.Client.build_request`` merges them.

    A key holds everything its part depends on (the httpx client, its headers as they are
    now, the merged header set), so a changed ``http_client.headers``, ``with_options``
    headers, per-call ``extra_headers`` or a router's per-endpoint headers make a new entry;
    the two maps are emptied when full, so varying paths or headers cannot grow them.
    """

    _LIMIT = 64

    def __init__(self) -> None:
        self._urls: dict[str, httpx.URL] = {}
        self._headers: dict[tuple[Any, ...], httpx.Headers] = {}

    def url(self, text: str) -> httpx.URL:
        url = self._urls.get(text)
        if url is None:
            if len(self._urls) >= self._LIMIT:
                self._urls.clear()
            url = self._urls[text] = httpx.URL(text)
        return url

    def headers(
        self, client: httpx.Client | httpx.AsyncClient, own: dict[str, str]
    ) -> httpx.Headers:
        """The client's headers updated by ``own`` (never mutate the answer: it is shared)."""
        base = client.headers
        key = (client, tuple(base.raw), tuple(own.items()))
        merged = self._headers.get(key)
        if merged is None:
            if len(self._headers) >= self._LIMIT:
                self._headers.clear()
            merged = base.copy()
            merged.update(own)
            self._headers[key] = merged
        return merged


@dataclass
class PreparedRequest:
    """One endpoint's form of the call: built once, reused by every attempt on it."""

    endpoint: Endpoint
    request: HttpRequest
    content: bytes | None
    url: str
    where: str
    usage_injected: bool


def prepare_request(
    endpoint: Endpoint,
    task: Task[Any, Any, Any],
    request: BaseModel,
    *,
    model: str | None,
    streaming: bool,
    per_call: CallOptions | None,
) -> PreparedRequest:
    """The neutral ``request`` as ``endpoint``'s provider expresses it, body encoded.

    A provider that cannot express it raises ``ValueError`` or ``TypeError`` (the caller
    skips the endpoint); so does a body JSON cannot carry, here, before anything is sent.
    """
    updates: dict[str, Any] = {}
    mapped = endpoint.model_name(model) if model else None
    if mapped is not None and mapped != model:
        updates["model"] = mapped
    injected = False
    params = field_of(request, "params")
    if (
        streaming
        and endpoint.stream_usage
        and endpoint.protocol.name == "openai"
        and isinstance(params, dict)
        and "stream_options" not in params
    ):
        updates["params"] = {**params, "stream_options": {"include_usage": True}}
        injected = True
    if updates:
        request = request.model_copy(update=updates)
    http_request = endpoint.protocol.build_request(task, request)
    if per_call is not None and per_call.extra_body and isinstance(http_request.json, dict):
        http_request = dataclasses.replace(
            http_request, json={**http_request.json, **per_call.extra_body}
        )
    # Encoded once per endpoint; it also fails here, before anything is sent.
    content = http_request.content  # a binary body is sent as the provider built it
    if content is None and http_request.json is not None:
        content = encode_json(http_request.json, task.name)
    # An empty path is the base URL itself (a Hugging Face model endpoint is POSTed to
    # as is; a trailing slash would be another route).
    path = http_request.path.lstrip("/")
    url = f"{endpoint.base_url}/{path}" if path else endpoint.base_url
    return PreparedRequest(
        endpoint=endpoint,
        request=http_request,
        content=content,
        url=url,
        where=f"{http_request.method.upper()} {url}",
        usage_injected=injected,
    )


def own_headers(
    prepared: PreparedRequest,
    streaming: bool,
    defaults: Mapping[str, str],
    per_call: CallOptions | None,
) -> dict[str, str]:
    """maaskit's, the client's (``defaults``), the endpoint's, the provider's and the call's
    headers: all but the idempotency key and the attempt number."""
    headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
    if streaming:
        headers["Accept"] = "text/event-stream"
    if prepared.content is not None:
        headers["Content-Type"] = "application/json"
    endpoint_headers = prepared.endpoint.headers
    provider_headers = prepared.request.headers
    if defaults or endpoint_headers or provider_headers:
        overrides = {**defaults, **endpoint_headers, **provider_headers}
        # A default or provider header replaces maaskit's own of the same name, whatever
        # its case (two dict keys differing in case would send the header twice).
        replaced = {name.lower() for name in overrides}
        headers = {k: v for k, v in headers.items() if k.lower() not in replaced}
        headers.update(overrides)
    if per_call is not None and per_call.extra_headers:
        extra = per_call.extra_headers
        replaced = {name.lower() for name in extra}
        headers = {k: v for k, v in headers.items() if k.lower() not in replaced}
        headers.update(extra)
    return headers
