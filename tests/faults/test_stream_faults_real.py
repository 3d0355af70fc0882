"""Stream faults on the real generation routes of every protocol (OpenAI SSE, Ollama NDJSON,
KServe and TGI SSE) with the real tiny-shakespeare model; skipped until it is served.

Greedy decoding makes the fault-free text a fixed reference, so each fault's effect on the
SDK is exact: the typed error carries a start of the reference as its partial text.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import maaskit
import pytest
from maaskit.testing import MaaSKitServer

LM = "tiny-shakespeare"
PROMPT = "To be, or not to be"
OpenStream = Callable[[maaskit.Client], Any]


def _openai(client: maaskit.Client) -> Any:
    messages = [{"role": "user", "content": PROMPT}]
    return client.chat(
        model=LM,
        messages=messages,
        stream=True,
        max_tokens=16,
        temperature=0,
        provider_params={"ignore_eos": True},
    )


def _ollama(client: maaskit.Client) -> Any:
    messages = [{"role": "user", "content": PROMPT}]
    return client.chat(model=LM, messages=messages, stream=True, max_tokens=16, temperature=0)


def _generate(client: maaskit.Client) -> Any:
    return client.complete(model=LM, prompt=PROMPT, stream=True, max_tokens=16, temperature=0)


PROTOCOLS: dict[str, OpenStream] = {
    "openai": _openai,
    "ollama": _ollama,
    "kserve": _generate,
    "hf": _generate,
}


@pytest.fixture
def lm_server(maaskit_server: MaaSKitServer) -> MaaSKitServer:
    if LM not in maaskit_server.models():
        pytest.fail(f"the default model {LM} is not served")
    return maaskit_server


def collect(
    server: MaaSKitServer, provider: str, fault: str | None = None, **options: Any
) -> tuple[str, int]:
    headers = {"X-MaaSKit-Fault": fault} if fault else None
    options.setdefault("retry_policy", maaskit.RetryPolicy(initial_backoff=0.01))
    client = server.client(provider, default_headers=headers, **options)
    with PROTOCOLS[provider](client) as stream:
        chunks = list(stream)
        return stream.text, len(chunks)


def reference(server: MaaSKitServer, provider: str) -> str:
    text, chunks = collect(server, provider)
    assert chunks >= 5, "the reference stream must outlast the faults at chunk 3"
    return text


@pytest.mark.parametrize("provider", list(PROTOCOLS))
@pytest.mark.parametrize(
    ("fault", "error_class"),
    [
        ("reset=3", maaskit.APIConnectionError),
        ("malformed=3", maaskit.ResponseValidationError),
        ("error_event=3", maaskit.APIStatusError),
    ],
)
def test_a_broken_stream_raises_typed_with_the_partial_text(
    lm_server: MaaSKitServer, provider: str, fault: str, error_class: type[maaskit.APIError]
) -> None:
    full = reference(lm_server, provider)
    with pytest.raises(error_class) as caught:
        collect(lm_server, provider, fault)
    assert not isinstance(caught.value, maaskit.APITimeoutError)
    partial = caught.value.partial_text
    assert partial
    assert full.startswith(partial)
    assert partial != full
    assert caught.value.attempts == 1


@pytest.mark.parametrize("provider", list(PROTOCOLS))
def test_a_stream_cut_without_its_end_keeps_a_start_of_the_text(
    lm_server: MaaSKitServer, provider: str
) -> None:
    full = reference(lm_server, provider)
    text, chunks = collect(lm_server, provider, "truncate=3")
    assert chunks == 3
    assert full.startswith(text)
    assert text != full


@pytest.mark.parametrize("provider", list(PROTOCOLS))
def test_a_stalled_stream_fires_the_idle_timeout(lm_server: MaaSKitServer, provider: str) -> None:
    full = reference(lm_server, provider)
    timeout = maaskit.Timeout(connect=5, read=30, stream_idle=1.0)
    with pytest.raises(maaskit.APITimeoutError) as caught:
        collect(lm_server, provider, "stall=3", timeout=timeout)
    assert full.startswith(caught.value.partial_text or "")


@pytest.mark.parametrize("provider", list(PROTOCOLS))
@pytest.mark.parametrize("fault", ["status=503; times=2; retry_after=0", "reset=headers; times=1"])
def test_a_failure_before_the_first_chunk_is_retried_to_the_same_text(
    lm_server: MaaSKitServer, provider: str, fault: str
) -> None:
    full = reference(lm_server, provider)
    text, _ = collect(lm_server, provider, fault)
    assert text == full
