"""The app state every route reaches through :func:`get_state`."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from starlette.requests import Request

from .repository import ModelRepository
from .settings import ServerSettings


@dataclass
class AppState:
    settings: ServerSettings
    repository: ModelRepository
    executor: ThreadPoolExecutor
    started_at: float


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.maaskit
    return state
