"""OpenAI text generation routes (chat, completions) and vLLM's tokenize/detokenize.

The engine behind them is :mod:`maaskit_server.generation`; these modules only parse requests,
submit them and shape the answers (JSON or SSE).
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from . import chat, completions, tokens


def routes() -> list[BaseRoute]:
    return [*chat.routes(), *completions.routes(), *tokens.routes()]
