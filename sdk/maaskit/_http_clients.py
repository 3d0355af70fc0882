"""The httpx clients (connection pools) a maaskit client sends through.

httpx keeps TLS settings on the pool, not on the request, so a client needs one pool per
distinct TLS setting among its endpoints; a passed ``http_client`` serves every endpoint
without TLS settings of its own. The pools made here are the client's to close; a passed one
stays its owner's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import httpx

from ._endpoint import Endpoint
from ._pools import pool_options
from ._tls import tls_context

__all__ = ["open_http_clients"]

HttpT = TypeVar("HttpT", httpx.Client, httpx.AsyncClient)


def open_http_clients(
    endpoints: Sequence[Endpoint],
    http_client: HttpT | None,
    make_http_client: Callable[..., HttpT],
) -> tuple[dict[Any, HttpT], list[HttpT]]:
    """The pools by ``Endpoint.tls_key`` (``None``: endpoints without TLS settings), and
    those of them made here (the ones the client closes)."""
    owned: list[HttpT] = []
    clients: dict[Any, HttpT] = {}
    if http_client is None:
        http_client = make_http_client(**pool_options())
        owned.append(http_client)
    clients[None] = http_client
    for endpoint in endpoints:
        key = endpoint.tls_key
        if key is None or key in clients:
            continue
        try:
            made = make_http_client(
                **pool_options(verify=tls_context(endpoint.verify, endpoint.cert))
            )
        except (OSError, ValueError) as exc:
            # A missing CA bundle or certificate file: say which endpoint needs it.
            raise ValueError(f"endpoint {endpoint.name!r}: TLS settings: {exc}") from exc
        clients[key] = made
        owned.append(made)
    return clients, owned
