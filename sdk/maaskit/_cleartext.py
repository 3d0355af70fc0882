"""Credentials in clear text: a key sent over plain ``http://`` to another machine can be read
on the way, so a client refuses it with ``require_tls`` and warns once otherwise.

Loopback hosts are exempt: a local server (the reference server, a sidecar) never crosses a
network, and requiring TLS there would only get in the way of tests and development.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

import httpx

from ._endpoint import Endpoint
from ._logging import logger

__all__ = ["check_transport_security", "is_loopback"]


def is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_transport_security(endpoints: Sequence[Endpoint], require_tls: bool) -> None:
    """A key sent in clear text to another machine can be read on the way: refuse it with
    ``require_tls``, else warn once per client."""
    exposed = [
        e
        for e in endpoints
        if e.auth is not None
        and e.base_url.startswith("http://")
        and not is_loopback(httpx.URL(e.base_url).host)
    ]
    if not exposed:
        return
    names = ", ".join(repr(e.name) for e in exposed)
    which = f"endpoint {names} sends" if len(exposed) == 1 else f"endpoints {names} send"
    if require_tls:
        raise ValueError(
            f"{which} credentials over plain http:// to a non-loopback host; "
            "use https:// (require_tls=True refuses this)"
        )
    logger.warning(
        "maaskit: %s credentials over plain http:// to a non-loopback host; "
        "use https:// or pass require_tls=True to refuse this",
        which,
    )
