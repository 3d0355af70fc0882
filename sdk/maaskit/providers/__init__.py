"""Backend protocols. Each is sans-I/O; ``get_provider`` resolves the ``provider=`` name."""

from __future__ import annotations

from ._base import Provider, StreamDecoder
from .hf import HFProvider
from .kserve import KServeProvider
from .ollama import OllamaProvider
from .openai import OpenAIProvider

__all__ = [
    "PROVIDERS",
    "HFProvider",
    "KServeProvider",
    "OllamaProvider",
    "OpenAIProvider",
    "Provider",
    "StreamDecoder",
    "get_provider",
]

PROVIDERS: dict[str, type[Provider]] = {
    "openai": OpenAIProvider,
    "hf": HFProvider,
    "kserve": KServeProvider,
    "ollama": OllamaProvider,
}


def get_provider(name: str | Provider) -> Provider:
    if isinstance(name, Provider):
        return name
    if not isinstance(name, str):
        raise TypeError(f"provider must be a name or a Provider, got {type(name).__name__}")
    try:
        return PROVIDERS[name]()
    except KeyError:
        available = ", ".join(sorted(PROVIDERS))
        raise ValueError(f"unknown provider {name!r}; available: {available}") from None
