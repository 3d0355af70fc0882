"""A rate-limited server process seen by the SDK and the official openai client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import maaskit
import openai
import pytest
from _support.server import MODELS_DIR, ServerProcess, start_server, stop_server

pytestmark = pytest.mark.e2e

PER_MINUTE = 60  # one a second once the burst is spent
# One a minute: once it is spent, no machine is slow enough for a refill to come in between
# two calls of the test (with 60 a minute, a loaded machine refilled one before the
# official client's call and the test failed).
STRICT_PER_MINUTE = 1


def limited(tmp_path_factory: pytest.TempPathFactory, per_minute: int) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("limited")
    # One small model, for /ready; the limit is what is under test.
    (root / "models").mkdir()
    (root / "models" / "sentiment").symlink_to(MODELS_DIR / "sentiment", target_is_directory=True)
    server = start_server(
        root / "server.log",
        api_key="limited-key",
        extra_args=["--models", str(root / "models"), "--rate-limit-rpm", str(per_minute)],
    )
    yield server
    stop_server(server)


@pytest.fixture(scope="module")
def limited_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    yield from limited(tmp_path_factory, PER_MINUTE)


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    yield from limited(tmp_path_factory, STRICT_PER_MINUTE)


def spend_the_burst(server: ServerProcess) -> None:
    client = maaskit.Client(
        provider="openai", base_url=server.v1, api_key=server.api_key, max_retries=0
    )
    with client:
        for _ in range(PER_MINUTE):
            try:
                client.models()
            except maaskit.RateLimitError:
                return
        with pytest.raises(maaskit.RateLimitError) as caught:
            client.models()
    assert caught.value.status_code == 429


def test_both_clients_raise_their_rate_limit_errors(strict_server: ServerProcess) -> None:
    spend_the_burst(strict_server)
    official = openai.OpenAI(
        base_url=strict_server.v1, api_key=strict_server.api_key, max_retries=0
    )
    with pytest.raises(openai.RateLimitError):
        official.models.list()
    official.close()


def test_the_sdk_waits_as_told_and_then_succeeds(limited_server: ServerProcess) -> None:
    attempts: list[maaskit.AttemptEvent] = []
    with maaskit.Client(
        provider="openai",
        base_url=limited_server.v1,
        api_key=limited_server.api_key,
        max_retries=3,
        on_attempt=attempts.append,
    ) as client:
        # Calls until one is limited (a token refilled in between only means one more
        # call): that call waits as told and then succeeds.
        for _ in range(2 * PER_MINUTE):
            attempts.clear()
            assert [card.id for card in client.models()] == ["sentiment"]
            if len(attempts) > 1:
                break
    assert isinstance(attempts[0].error, maaskit.RateLimitError)
    assert attempts[0].response is not None
    assert int(attempts[0].response.headers["retry-after-ms"]) <= 1000
    assert attempts[-1].error is None
    assert "limited-key" not in Path(limited_server.log_path).read_text()
