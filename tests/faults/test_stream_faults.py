"""Each stream fault does exactly what it says on the wire, and the SDK reacts as documented.

The server is the real app under uvicorn with a scripted chat route (``_toy``), so every test
knows the exact pieces a fault cut off: ``w0 w1 …`` after the role-only first event.
A fault ``…=3`` acts before body chunk 3: the role event, ``w0 ``, ``w1 `` got through.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import maaskit
import pytest

from faults._toy import FULL_TEXT, PIECES, ToyServer

MESSAGES = [{"role": "user", "content": "hi"}]
BEFORE_CHUNK_3 = PIECES[0] + PIECES[1]


def client(toy: ToyServer, fault: str | None = None, **options: Any) -> maaskit.Client:
    options.setdefault("retry_policy", maaskit.RetryPolicy(initial_backoff=0.01))
    return maaskit.Client(
        base_url=toy.openai_url,
        api_key="unused",
        default_headers={"X-MaaSKit-Fault": fault} if fault else None,
        **options,
    )


def stream_text(sdk: maaskit.Client, **params: Any) -> tuple[str, list[str | None]]:
    with sdk.chat(model="toy", messages=MESSAGES, stream=True, **params) as stream:
        reasons = [chunk.finish_reason for chunk in stream]
        return stream.text, reasons


def test_without_fault_the_toy_stream_is_whole(toy_fresh: ToyServer) -> None:
    text, reasons = stream_text(client(toy_fresh))
    assert text == FULL_TEXT
    assert reasons[-1] == "stop"


def test_mid_stream_reset_is_a_connection_error_with_the_partial_text(
    toy_fresh: ToyServer,
) -> None:
    sdk = client(toy_fresh, "reset=3")
    with pytest.raises(maaskit.APIConnectionError) as caught:
        stream_text(sdk)
    assert not isinstance(caught.value, maaskit.APITimeoutError)
    assert caught.value.partial_text == BEFORE_CHUNK_3
    assert caught.value.attempts == 1  # output had started: never retried
    assert len(toy_fresh.executions) == 1


def test_malformed_event_is_a_validation_error_with_the_partial_text(toy_fresh: ToyServer) -> None:
    with pytest.raises(maaskit.ResponseValidationError) as caught:
        stream_text(client(toy_fresh, "malformed=3"))
    assert caught.value.partial_text == BEFORE_CHUNK_3


def test_stream_without_done_ends_with_what_came(toy_fresh: ToyServer) -> None:
    with httpx.stream(
        "POST",
        f"{toy_fresh.openai_url}/chat/completions",
        json={"model": "toy", "messages": MESSAGES, "stream": True},
        headers={"X-MaaSKit-Fault": "truncate=3"},
    ) as raw:
        body = raw.read()
    assert b"[DONE]" not in body
    assert body.count(b"data: ") == 3

    # The SDK ends the stream at EOF (documented): the text so far, no finish reason.
    text, reasons = stream_text(client(toy_fresh, "truncate=3"))
    assert text == BEFORE_CHUNK_3
    assert reasons == [None, None, None]


def test_in_band_error_event_is_a_server_error_with_the_partial_text(toy_fresh: ToyServer) -> None:
    with pytest.raises(maaskit.ServerError) as caught:
        stream_text(client(toy_fresh, "error_event=3"))
    assert caught.value.status_code == 500
    assert caught.value.provider_message == "Injected fault: error event."
    assert caught.value.partial_text == BEFORE_CHUNK_3


def test_error_event_before_any_output_is_retried(toy_fresh: ToyServer) -> None:
    # The SDK reads the first event inside the attempt, so an error there is retryable.
    sdk = client(toy_fresh, "error_event=0; times=1")
    text, _ = stream_text(sdk)
    assert text == FULL_TEXT
    assert len(toy_fresh.executions) == 2


def test_stalled_stream_fires_the_idle_timeout(toy_fresh: ToyServer) -> None:
    timeout = maaskit.Timeout(connect=5, read=5, stream_idle=0.5)
    with pytest.raises(maaskit.APITimeoutError) as caught:
        stream_text(client(toy_fresh, "stall=3", timeout=timeout))
    assert caught.value.partial_text == BEFORE_CHUNK_3
    # The server is not stuck on the stalled response.
    text, _ = stream_text(client(toy_fresh))
    assert text == FULL_TEXT


def test_drip_slower_than_the_idle_timeout_fires_it(toy_fresh: ToyServer) -> None:
    timeout = maaskit.Timeout(connect=5, read=5, stream_idle=0.3)
    with pytest.raises(maaskit.APITimeoutError):
        stream_text(client(toy_fresh, "drip_ms=1500", timeout=timeout))


def test_drip_within_the_idle_timeout_delivers_everything(toy_fresh: ToyServer) -> None:
    with httpx.stream(
        "POST",
        f"{toy_fresh.openai_url}/chat/completions",
        json={"model": "toy", "messages": MESSAGES, "stream": True},
        headers={"X-MaaSKit-Fault": "drip_ms=20"},
    ) as raw:
        assert raw.headers["x-maaskit-fault-injected"] == "drip"
        assert "content-length" not in raw.headers
        raw.read()
    text, reasons = stream_text(client(toy_fresh, "drip_ms=20"))
    assert text == FULL_TEXT
    assert reasons[-1] == "stop"


def test_reset_before_headers_is_a_connection_error_not_a_500(toy_fresh: ToyServer) -> None:
    url = f"{toy_fresh.openai_url}/chat/completions"
    body = {"model": "toy", "messages": MESSAGES}
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        httpx.post(url, json=body, headers={"X-MaaSKit-Fault": "reset=headers"})

    with pytest.raises(maaskit.APIConnectionError) as caught:
        client(toy_fresh, "reset=headers", max_retries=0).chat(model="toy", messages=MESSAGES)
    assert not isinstance(caught.value, maaskit.APIStatusError)
    assert caught.value.attempts == 1


def test_reset_before_headers_of_a_stream_is_retried(toy_fresh: ToyServer) -> None:
    text, _ = stream_text(client(toy_fresh, "reset=headers; times=1"))
    assert text == FULL_TEXT
    # The aborted first run and the retry share the SDK's Idempotency-Key.
    assert len(toy_fresh.executions) == 2
    assert len(set(toy_fresh.executions)) == 1


def test_status_before_a_stream_is_retried_without_running_it(toy_fresh: ToyServer) -> None:
    attempts: list[int] = []
    sdk = client(
        toy_fresh,
        "status=503; times=2; retry_after=0",
        on_attempt=lambda event: attempts.append(event.attempt),
    )
    text, _ = stream_text(sdk)
    assert text == FULL_TEXT
    assert attempts == [1, 2, 3]
    assert len(toy_fresh.executions) == 1


def test_latency_past_the_read_timeout_times_out(toy_fresh: ToyServer) -> None:
    sdk = client(toy_fresh, "latency_ms=1500", timeout=maaskit.Timeout(read=0.3), max_retries=0)
    with pytest.raises(maaskit.APITimeoutError):
        sdk.chat(model="toy", messages=MESSAGES)


def raw_events(toy: ToyServer, fault: str) -> tuple[list[bytes], Exception | None]:
    """The SSE events as the server sent them, and the transport error that ended them."""
    received = b""
    error: Exception | None = None
    try:
        with httpx.stream(
            "POST",
            f"{toy.openai_url}/chat/completions",
            json={"model": "toy", "messages": MESSAGES, "stream": True},
            headers={"X-MaaSKit-Fault": fault},
        ) as raw:
            for data in raw.iter_bytes():
                received += data
    except httpx.TransportError as exc:
        error = exc
    return [event for event in received.split(b"\n\n") if event], error


def test_on_the_wire_a_mid_stream_reset_follows_exactly_three_events(toy_fresh: ToyServer) -> None:
    events, error = raw_events(toy_fresh, "reset=3")
    assert len(events) == 3
    assert isinstance(error, (httpx.ReadError, httpx.RemoteProtocolError))


def test_on_the_wire_malformed_and_error_events_replace_the_fourth(toy_fresh: ToyServer) -> None:
    malformed, error = raw_events(toy_fresh, "malformed=3")
    assert error is None
    assert len(malformed) == 4
    with pytest.raises(json.JSONDecodeError):
        json.loads(malformed[3].removeprefix(b"data: "))

    spoiled, error = raw_events(toy_fresh, "error_event=3")
    assert error is None
    assert len(spoiled) == 4
    assert json.loads(spoiled[3].removeprefix(b"data: "))["error"]["code"] == "injected_fault"
