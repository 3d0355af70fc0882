"""Per-call settings of a client: what every call uses, whichever endpoint it goes to.

Per-endpoint settings (provider, base URL, credentials, TLS, models, price) live on
:class:`maaskit.Endpoint`; these are the rest. One frozen object, so ``with_options`` is a
checked ``replace`` and no option is written out twice.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._config import Timeout
from ._hooks import AttemptHook
from ._retry import RetryPolicy

__all__ = ["ClientOptions", "check_headers"]


def check_headers(headers: Any, what: str = "default_headers") -> dict[str, str]:
    if headers is None:
        return {}
    if not isinstance(headers, Mapping):
        raise TypeError(f"{what} must be a mapping of str to str")
    for name, value in headers.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise TypeError(f"{what} must be a mapping of str to str")
    return dict(headers)


@dataclass(frozen=True)
class ClientOptions:
    """``timeout`` bounds attempts and the whole call; ``retry`` decides retries and
    backoff; ``default_headers`` go with every request; ``on_attempt`` sees every attempt."""

    timeout: Timeout = field(default_factory=Timeout)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    default_headers: Mapping[str, str] = field(default_factory=dict)
    on_attempt: AttemptHook | None = None

    @classmethod
    def resolve(
        cls,
        *,
        timeout: float | Timeout | None,
        max_retries: int | None,
        retry_policy: RetryPolicy | None,
        default_headers: Mapping[str, str] | None,
        on_attempt: AttemptHook | None,
    ) -> ClientOptions:
        if on_attempt is not None and not callable(on_attempt):
            raise TypeError("on_attempt must be callable")
        if retry_policy is not None and not isinstance(retry_policy, RetryPolicy):
            raise TypeError("retry_policy must be a maaskit.RetryPolicy")
        policy = retry_policy if retry_policy is not None else RetryPolicy()
        if max_retries is not None:
            policy = dataclasses.replace(policy, max_retries=max_retries)
        return cls(
            timeout=Timeout.coerce(timeout),
            retry=policy,
            default_headers=check_headers(default_headers),
            on_attempt=on_attempt,
        )

    def replace(
        self,
        *,
        timeout: Any = None,
        max_retries: int | None = None,
        retry_policy: RetryPolicy | None = None,
        default_headers: Mapping[str, str] | None = None,
        on_attempt: AttemptHook | None = None,
        unset: frozenset[str] = frozenset(),
    ) -> ClientOptions:
        """A copy with the given settings changed (``unset`` names the ones not given, since
        ``None`` is a value for ``timeout``)."""
        retry = self.retry
        if "retry_policy" not in unset:
            if not isinstance(retry_policy, RetryPolicy):
                raise TypeError("retry_policy must be a maaskit.RetryPolicy")
            retry = retry_policy
        if "max_retries" not in unset:
            if max_retries is None:
                raise TypeError("max_retries must be an int")
            retry = dataclasses.replace(retry, max_retries=max_retries)
        hook = self.on_attempt if "on_attempt" in unset else on_attempt
        if hook is not None and not callable(hook):
            raise TypeError("on_attempt must be callable")
        return ClientOptions(
            timeout=self.timeout if "timeout" in unset else Timeout.coerce(timeout),
            retry=retry,
            default_headers=(
                self.default_headers
                if "default_headers" in unset
                else check_headers(default_headers)
            ),
            on_attempt=hook,
        )
