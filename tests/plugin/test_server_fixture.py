"""``maaskit_server``: a real server whose client factories work for every provider, whose keys
stay out of reprs, and whose scripted faults do not leak from one test into the next."""

from __future__ import annotations

import httpx
import pytest
from maaskit.testing import MaaSKitServer

EMBEDDING_MODEL = "all-minilm-l6-v2"


@pytest.mark.parametrize("provider", ["openai", "hf", "kserve", "ollama"])
def test_every_provider_client_reaches_the_same_model(
    maaskit_server: MaaSKitServer, provider: str
) -> None:
    reference = maaskit_server.client().embed(model=EMBEDDING_MODEL, input=["same"]).vectors[0]
    with maaskit_server.client(provider) as client:
        vector = client.embed(model=EMBEDDING_MODEL, input=["same"]).vectors[0]
    assert vector == pytest.approx(reference, abs=1e-5)


async def test_the_async_factory(maaskit_server: MaaSKitServer) -> None:
    async with maaskit_server.async_client() as client:
        result = await client.embed(model=EMBEDDING_MODEL, input=["async"])
    assert len(result.vectors[0]) == 384


def test_urls_and_keys(maaskit_server: MaaSKitServer) -> None:
    assert maaskit_server.url.startswith("http://127.0.0.1:")
    assert maaskit_server.openai_url == maaskit_server.url + "/v1"
    assert maaskit_server.api_key not in repr(maaskit_server)
    assert maaskit_server.admin_key not in repr(maaskit_server)
    # The server requires its API key.
    response = httpx.get(f"{maaskit_server.openai_url}/models")
    assert response.status_code == 401


def test_a_fault_scripted_here_is_left_behind(maaskit_server: MaaSKitServer) -> None:
    maaskit_server.faults.add("status=503", times=100)
    assert len(maaskit_server.faults.rules()) == 1


def test_the_next_test_starts_without_it(maaskit_server: MaaSKitServer) -> None:
    # Runs after the test above (file order): the plugin cleared the script in between.
    assert maaskit_server.faults.rules() == []
    assert maaskit_server.faults.injected() == {}
