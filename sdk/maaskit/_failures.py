"""What a failed attempt says: about the backend's health, and whether another may help."""

from __future__ import annotations

from ._exceptions import APIConnectionError, APIError, APIStatusError

__all__ = ["is_context_error", "speaks_of_health", "told_not_to_retry"]

# Phrases backends use for a prompt longer than the model's context (OpenAI's
# ``context_length_exceeded`` code, vLLM's and TGI's messages, the reference server's).
_CONTEXT_MARKERS = ("context_length", "context length", "maximum context", "too many tokens")


def speaks_of_health(error: APIError) -> bool:
    """Failures that say the backend is down or overloaded (a 400 says nothing of it)."""
    if isinstance(error, APIStatusError):
        return error.status_code in (408, 429) or error.status_code >= 500
    return isinstance(error, APIConnectionError)


def told_not_to_retry(error: APIError) -> bool:
    return isinstance(error, APIStatusError) and error.headers.get("x-should-retry") == "false"


def is_context_error(error: APIStatusError) -> bool:
    text = " ".join(filter(None, [error.provider_message, error.body])).lower()
    return any(marker in text for marker in _CONTEXT_MARKERS)
