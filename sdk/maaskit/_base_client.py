"""What ``Client`` and ``AsyncClient`` share: settings, argument checks, request building."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from ._auth import KeySource
from ._config import ClientConfig, Timeout, resolve_config
from ._hooks import AttemptHook
from ._http import HttpRequest
from ._retry import RetryPolicy
from ._tasks import CHAT, CLASSIFY, COMPLETE, EMBED, MODELS, ModelsRequest, Task
from ._validation import check_flag, check_messages, check_model, check_prompt, check_texts
from .providers import Provider
from .types import (
    ChatMessage,
    ChatRequest,
    ClassificationRequest,
    CompletionRequest,
    EmbeddingRequest,
)

__all__ = ["BaseClient", "MessageLike"]

MessageLike = ChatMessage | Mapping[str, Any]

_UNSET: Any = object()

# ``models()`` takes no arguments, so one request object serves every call.
_MODELS_REQUEST = ModelsRequest()


class BaseClient:
    _option_names = (
        "provider",
        "base_url",
        "api_key",
        "auth",
        "timeout",
        "max_retries",
        "retry_policy",
        "default_headers",
        "on_attempt",
    )

    def _configure(
        self,
        *,
        provider: str | Provider,
        base_url: str | None,
        api_key: KeySource | None,
        auth: httpx.Auth | None,
        timeout: float | Timeout | None,
        max_retries: int | None,
        retry_policy: RetryPolicy | None,
        default_headers: Mapping[str, str] | None,
        on_attempt: AttemptHook | None,
    ) -> ClientConfig:
        self._options: dict[str, Any] = {
            "provider": provider,
            "base_url": base_url,
            "api_key": api_key,
            "auth": auth,
            "timeout": timeout,
            "max_retries": max_retries,
            "retry_policy": retry_policy,
            "default_headers": default_headers,
            "on_attempt": on_attempt,
        }
        self.config = resolve_config(**self._options)
        return self.config

    def _merged_options(self, overrides: Mapping[str, Any]) -> dict[str, Any]:
        unknown = set(overrides) - set(self._option_names)
        if unknown:
            raise TypeError(f"with_options() got unknown options: {', '.join(sorted(unknown))}")
        options = dict(self._options)
        # A new credential replaces the old one instead of conflicting with it.
        if "api_key" in overrides:
            options["auth"] = None
        if "auth" in overrides:
            options["api_key"] = None
        options.update(overrides)
        return options

    def __repr__(self) -> str:
        config = getattr(self, "config", None)
        if config is None:  # a constructor that raised: tracebacks still show something sane
            return f"<{type(self).__name__} (not constructed)>"
        return (
            f"{type(self).__name__}(provider={config.provider.name!r}, "
            f"base_url={config.base_url!r}, auth={config.auth!r}, "
            f"max_retries={config.retry.max_retries})"
        )

    # -- building neutral requests -------------------------------------------------------------

    def _build(self, task: Task[Any, Any, Any], request: Any) -> HttpRequest:
        provider = self.config.provider
        if not provider.supports(task):
            raise NotImplementedError(f"provider {provider.name!r} has no {task.name!r} task")
        return provider.build_request(task, request)

    def _chat_request(
        self, model: str, messages: Sequence[MessageLike], stream: bool, params: dict[str, Any]
    ) -> HttpRequest:
        request = ChatRequest(
            model=check_model(model),
            messages=check_messages(messages),
            stream=check_flag("stream", stream),
            params=params,
        )
        return self._build(CHAT, request)

    def _complete_request(
        self, model: str, prompt: str | Sequence[str], stream: bool, params: dict[str, Any]
    ) -> HttpRequest:
        request = CompletionRequest(
            model=check_model(model),
            prompt=check_prompt(prompt),
            stream=check_flag("stream", stream),
            params=params,
        )
        return self._build(COMPLETE, request)

    def _embed_request(
        self, model: str, input: str | Sequence[str], params: dict[str, Any]
    ) -> HttpRequest:
        request = EmbeddingRequest(
            model=check_model(model), input=check_texts("input", input), params=params
        )
        return self._build(EMBED, request)

    def _classify_request(
        self, model: str, input: str | Sequence[str], params: dict[str, Any]
    ) -> HttpRequest:
        request = ClassificationRequest(
            model=check_model(model), input=check_texts("input", input), params=params
        )
        return self._build(CLASSIFY, request)

    def _models_request(self) -> HttpRequest:
        return self._build(MODELS, _MODELS_REQUEST)
