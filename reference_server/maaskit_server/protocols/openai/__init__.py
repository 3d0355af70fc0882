"""OpenAI-compatible routes under ``/v1`` (plus vLLM's ``/classify``, ``/score``, ``/rerank``,
``/tokenize`` and ``/detokenize``): embeddings, classification, scores, and text generation
(chat, completions) on :mod:`maaskit_server.generation`, whose modules here only parse
requests, submit them and shape the answers (JSON or SSE).

Errors raised here as :class:`~maaskit_server.errors.APIError` render in OpenAI's shape.
Request parsing shared by every protocol lives in :mod:`maaskit_server.protocols.requests`.
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from . import chat, classify, completions, embeddings, models, score, token_classification, tokens


def routes() -> list[BaseRoute]:
    return [
        *models.routes(),
        *embeddings.routes(),
        *classify.routes(),
        *score.routes(),
        *token_classification.routes(),
        *chat.routes(),
        *completions.routes(),
        *tokens.routes(),
    ]
