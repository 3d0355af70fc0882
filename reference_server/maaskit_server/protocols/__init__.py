"""Protocol route modules. Each exposes ``routes() -> list[BaseRoute]``; :func:`all_routes`
collects them for the app. A new protocol (or new OpenAI routes) is one module plus one line here
(or in ``openai/__init__.py``).
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from . import admin, hf, kserve, ollama, openai, openai_generation, ops


def all_routes() -> list[BaseRoute]:
    return [
        *ops.routes(),
        *openai.routes(),
        *openai_generation.routes(),
        *kserve.routes(),
        *hf.routes(),
        *ollama.routes(),
        *admin.routes(),
    ]
