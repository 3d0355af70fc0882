"""Clients from a TOML file: endpoints with their prices and tags, client options, and secrets
taken from the environment as ``${ENV_VAR}``.

```toml
routing = "cheapest"
max_retries = 2

[[endpoints]]
name = "local"
provider = "openai"
base_url = "http://127.0.0.1:8000/v1"
price = { input = 0.0, output = 0.0 }
tags = { region = "eu" }

[[endpoints]]
name = "cloud"
provider = "openai"
base_url = "https://api.example/v1"
api_key = "${CLOUD_API_KEY}"
price = { input = 0.15, output = 0.60 }
max_context = 128000
```

A ``${NAME}`` that is not set is an error naming the variable and the field, never an empty
key sent by mistake. Unknown keys are errors too: a typo must not silently drop a setting.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from ._breaker import BreakerPolicy
from ._endpoint import Budget, Endpoint, Price
from ._retry_budget import RetryBudget

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["ClientSettings", "load_config"]

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

# Client options a file may set, with the type each must have.
_OPTIONS: dict[str, tuple[type, ...]] = {
    "routing": (str,),
    "min_quality": (int, float),
    "timeout": (int, float),
    "max_retries": (int,),
    "wait_for_recovery": (int, float),
    "default_headers": (dict,),
    "require_tls": (bool,),
}
_NESTED = {"breaker": BreakerPolicy, "retry_budget": RetryBudget, "budget": Budget}
_ENDPOINT_FIELDS = {f.name for f in fields(Endpoint) if f.init} | {"api_key"}


@dataclass(frozen=True)
class ClientSettings:
    """What a config file says: the endpoints and the client keyword arguments."""

    endpoints: list[Endpoint]
    options: dict[str, Any]


def _expand(value: Any, where: str) -> Any:
    if isinstance(value, str):

        def lookup(match: re.Match[str]) -> str:
            name = match.group(1)
            found = os.environ.get(name)
            if found is None:
                raise ValueError(f"{where}: environment variable {name} is not set")
            return found

        return _ENV.sub(lookup, value)
    if isinstance(value, list):
        return [_expand(item, f"{where}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, dict):
        return {key: _expand(item, f"{where}.{key}") for key, item in value.items()}
    return value


def _nested(kind: type, value: Any, where: str) -> Any:
    if not isinstance(value, Mapping):
        raise TypeError(f"{where} must be a table")
    known = {f.name for f in fields(kind)}
    unknown = set(value) - known
    if unknown:
        raise ValueError(f"{where}: unknown keys {sorted(unknown)}; known: {sorted(known)}")
    return kind(**value)


def _endpoint(table: Any, index: int, path: str) -> Endpoint:
    where = f"{path}: endpoints[{index}]"
    if not isinstance(table, Mapping):
        raise TypeError(f"{where} must be a table")
    name = table.get("name", f"#{index}")
    where = f"{path}: endpoint {name!r}"
    unknown = set(table) - _ENDPOINT_FIELDS
    if unknown:
        raise ValueError(f"{where}: unknown keys {sorted(unknown)}")
    values = dict(_expand(dict(table), where))
    for key in ("name", "provider", "base_url"):
        if key not in values:
            raise ValueError(f"{where}: {key} is required")
    if "price" in values:
        values["price"] = _nested(Price, values["price"], f"{where}.price")
    if "budget" in values:
        values["budget"] = _nested(Budget, values["budget"], f"{where}.budget")
    for key in ("tasks", "failover_statuses"):
        if key in values:
            values[key] = frozenset(values[key])
    try:
        return Endpoint(**values)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{path}: {exc}") from None


def load_config(path: str | os.PathLike[str]) -> ClientSettings:
    """Read a client configuration file (see the module docstring for its shape)."""
    shown = os.fspath(path)
    try:
        with open(path, "rb") as file:
            document = tomllib.load(file)
    except FileNotFoundError:
        raise ValueError(f"{shown}: no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{shown}: not valid TOML: {exc}") from None
    tables = document.pop("endpoints", None)
    if not isinstance(tables, list) or not tables:
        raise ValueError(f"{shown}: needs at least one [[endpoints]] table")
    endpoints = [_endpoint(table, i, shown) for i, table in enumerate(tables)]
    options: dict[str, Any] = {}
    for key, value in document.items():
        if key in _NESTED:
            options[key] = _nested(_NESTED[key], value, f"{shown}: {key}")
            continue
        kinds = _OPTIONS.get(key)
        if kinds is None:
            known = sorted([*_OPTIONS, *_NESTED, "endpoints"])
            raise ValueError(f"{shown}: unknown key {key!r}; known: {', '.join(known)}")
        if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
            raise TypeError(f"{shown}: {key} must be {' or '.join(k.__name__ for k in kinds)}")
        options[key] = _expand(value, f"{shown}: {key}")
    return ClientSettings(endpoints=endpoints, options=options)
