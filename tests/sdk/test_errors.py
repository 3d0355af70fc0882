"""Every status maps to its error type, with status, request id, provider message, endpoint
and attempts filled in; sync and async alike."""

from __future__ import annotations

import maaskit
import pytest
import respx

from .conftest import BASE_URL, Harness

STATUS_TYPES = [
    (400, maaskit.BadRequestError),
    (401, maaskit.AuthenticationError),
    (403, maaskit.PermissionDeniedError),
    (404, maaskit.NotFoundError),
    (409, maaskit.ConflictError),
    (418, maaskit.APIStatusError),
    (422, maaskit.UnprocessableEntityError),
    (429, maaskit.RateLimitError),
    (500, maaskit.ServerError),
    (503, maaskit.ServerError),
    (529, maaskit.ServerError),
]


@pytest.mark.parametrize(("status", "error_type"), STATUS_TYPES)
async def test_status_maps_to_typed_error_with_fields(
    harness: Harness,
    respx_mock: respx.MockRouter,
    status: int,
    error_type: type[maaskit.APIStatusError],
) -> None:
    respx_mock.post(f"{BASE_URL}/embeddings").respond(
        status,
        json={"error": {"message": f"failure {status}", "type": "x"}},
        headers={"x-request-id": "req-123"},
    )
    client = harness.client(max_retries=0)

    with pytest.raises(maaskit.APIStatusError) as caught:
        await harness.call(client.embed, model="e", input=["a"])

    error = caught.value
    assert type(error) is error_type
    assert isinstance(error, maaskit.MaaSError)
    assert error.status_code == status
    assert error.request_id == "req-123"
    assert error.provider_message == f"failure {status}"
    assert error.endpoint == f"POST {BASE_URL}/embeddings"
    assert error.attempts == 1
    assert f"failure {status}" in str(error)
    assert f"POST {BASE_URL}/embeddings" in str(error)


async def test_request_id_from_request_id_header_and_non_json_body(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    respx_mock.post(f"{BASE_URL}/classify").respond(
        502, text="Bad Gateway from proxy", headers={"request-id": "r-9"}
    )
    client = harness.client(max_retries=0)

    with pytest.raises(maaskit.ServerError) as caught:
        await harness.call(client.classify, model="c", input="x")

    assert caught.value.request_id == "r-9"
    assert caught.value.provider_message == "Bad Gateway from proxy"
    assert caught.value.body == "Bad Gateway from proxy"


def test_hierarchy() -> None:
    assert issubclass(maaskit.APITimeoutError, maaskit.APIConnectionError)
    assert issubclass(maaskit.APIConnectionError, maaskit.APIError)
    assert issubclass(maaskit.ServerError, maaskit.APIStatusError)
    assert issubclass(maaskit.ResponseValidationError, maaskit.MaaSError)
    assert issubclass(maaskit.NoEndpointAvailable, maaskit.MaaSError)
    nothing = maaskit.NoEndpointAvailable("all down", [maaskit.APIConnectionError("x")])
    assert len(nothing.errors) == 1
