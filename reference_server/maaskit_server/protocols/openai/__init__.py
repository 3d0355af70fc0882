"""OpenAI-compatible routes under ``/v1`` (plus vLLM's ``/classify`` alias).

Errors raised here as :class:`~maaskit_server.errors.APIError` render in OpenAI's shape.
Request parsing shared by every protocol lives in :mod:`maaskit_server.protocols.requests`.
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from . import classify, embeddings, models, score, token_classification


def routes() -> list[BaseRoute]:
    return [
        *models.routes(),
        *embeddings.routes(),
        *classify.routes(),
        *score.routes(),
        *token_classification.routes(),
    ]
