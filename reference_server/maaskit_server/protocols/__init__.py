"""Protocol route modules. Each exposes ``routes() -> list[BaseRoute]``; :func:`all_routes`
collects them for the app. A new protocol (or new OpenAI routes) is one module plus one line here
(or in ``openai/__init__.py``).

What every protocol shares has rooms of its own here, so no protocol imports another's private
modules: :mod:`.requests` (reading the body, field checks), :mod:`.generation_run` (a
request's prompts through the generation engine and back) and :mod:`.recognition` (token
classification).
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from . import admin, hf, kserve, ollama, openai, ops


def all_routes() -> list[BaseRoute]:
    return [
        *ops.routes(),
        *openai.routes(),
        *kserve.routes(),
        *hf.routes(),
        *ollama.routes(),
        *admin.routes(),
    ]
