"""The fault script over ``/_maaskit/faults``: its own key, route and model filters, counts."""

from __future__ import annotations

import httpx
import maaskit
import pytest
from maaskit.testing import MaaSKitServer

EMBEDDING_MODEL = "all-minilm-l6-v2"


def embed_status(server: MaaSKitServer, model: str = EMBEDDING_MODEL) -> int:
    response = httpx.post(
        f"{server.openai_url}/embeddings",
        json={"model": model, "input": ["script"]},
        headers=server.headers,
        timeout=30,
    )
    return response.status_code


@pytest.mark.parametrize("key", [None, "wrong-key"])
def test_the_admin_route_needs_its_own_key(maaskit_server: MaaSKitServer, key: str | None) -> None:
    headers = dict(maaskit_server.headers)  # a valid API key is not enough
    if key is not None:
        headers["X-MaaSKit-Admin-Key"] = key
    response = httpx.get(f"{maaskit_server.url}/_maaskit/faults", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_admin_key"


def test_a_rule_hits_exactly_the_next_k_matching_calls(maaskit_server: MaaSKitServer) -> None:
    maaskit_server.faults.add(
        "status=503; retry_after=0", times=2, route="/v1/embeddings", model=EMBEDDING_MODEL
    )
    assert [embed_status(maaskit_server) for _ in range(3)] == [503, 503, 200]
    (rule,) = maaskit_server.faults.rules()
    assert (rule["remaining"], rule["fired"]) == (0, 2)
    assert maaskit_server.faults.injected() == {"status_503": 2}


def test_rules_for_other_routes_or_models_do_not_fire(maaskit_server: MaaSKitServer) -> None:
    maaskit_server.faults.add("status=500", route="/v2/*")
    maaskit_server.faults.add("status=500", model="sentiment")
    assert embed_status(maaskit_server) == 200
    assert [rule["fired"] for rule in maaskit_server.faults.rules()] == [0, 0]


def test_the_sdk_retries_through_a_scripted_fault(maaskit_server: MaaSKitServer) -> None:
    maaskit_server.faults.add("status=529; retry_after=0", times=2)
    attempts: list[int] = []
    sdk = maaskit_server.client(on_attempt=lambda event: attempts.append(event.attempt))
    assert len(sdk.embed(model=EMBEDDING_MODEL, input=["ok"]).vectors) == 1
    assert attempts == [1, 2, 3]


def test_put_replaces_delete_clears_and_a_bad_rule_changes_nothing(
    maaskit_server: MaaSKitServer,
) -> None:
    maaskit_server.faults.add("status=500", times=5)
    maaskit_server.admin_request(
        "PUT", "/_maaskit/faults", json={"rules": [{"fault": "status=502", "times": 1}]}
    )
    assert [rule["fault"] for rule in maaskit_server.faults.rules()] == ["status=502"]
    with pytest.raises(httpx.HTTPStatusError) as caught:
        maaskit_server.admin_request(
            "POST",
            "/_maaskit/faults",
            json={"rules": [{"fault": "status=503"}, {"fault": "status=999"}]},
        )
    assert caught.value.response.status_code == 400
    assert "status=999" in caught.value.response.json()["error"]["message"]
    assert len(maaskit_server.faults.rules()) == 1
    maaskit_server.faults.clear()
    assert maaskit_server.faults.rules() == []
    assert embed_status(maaskit_server) == 200


def test_a_scripted_reset_reaches_the_sdk_as_a_connection_error(
    maaskit_server: MaaSKitServer,
) -> None:
    maaskit_server.faults.add("reset=headers", times=3)
    with pytest.raises(maaskit.APIConnectionError):
        maaskit_server.client(retry_policy=maaskit.RetryPolicy(initial_backoff=0.01)).embed(
            model=EMBEDDING_MODEL, input=["gone"]
        )
