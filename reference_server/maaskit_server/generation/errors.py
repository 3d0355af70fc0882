"""Errors the engine raises; the protocol layer maps each to an HTTP status and error shape."""

from __future__ import annotations

# The overload error is the server's one, shared with the encoders' batcher.
from maaskit_server.overload import QueueFullError

__all__ = [
    "ChatTemplateError",
    "ContextLengthError",
    "EngineStoppedError",
    "GenerationError",
    "InvalidParameterError",
    "QueueFullError",
]


class GenerationError(Exception):
    """Base of every error raised by the generation engine."""


class InvalidParameterError(GenerationError):
    """A request parameter is out of range or of the wrong type (HTTP 400)."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


class ContextLengthError(InvalidParameterError):
    """Prompt plus requested completion do not fit the model's context window (HTTP 400)."""

    def __init__(self, max_context: int, prompt_tokens: int, max_tokens: int | None) -> None:
        requested = prompt_tokens + (max_tokens or 0)
        if max_tokens is None:
            detail = f"However, your prompt has {prompt_tokens} tokens."
        else:
            detail = (
                f"However, you requested {requested} tokens ({prompt_tokens} in the prompt, "
                f"{max_tokens} in the completion)."
            )
        super().__init__(
            f"This model's maximum context length is {max_context} tokens. {detail} "
            "Please reduce the length of the prompt or of max_tokens.",
            param="messages",
        )
        self.max_context = max_context
        self.prompt_tokens = prompt_tokens


class ChatTemplateError(InvalidParameterError):
    """The chat template could not be rendered for these messages, or it is unsafe."""

    def __init__(self, message: str) -> None:
        super().__init__(message, param="messages")


class EngineStoppedError(GenerationError):
    """The engine was shut down while a request was waiting or running."""
