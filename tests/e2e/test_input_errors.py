"""An over-long input is refused by the runtime with a domain error; each protocol's answer says
in its own words how to ask for truncation instead (the wording lives at the protocol edge)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from _support.server import ServerProcess

pytestmark = pytest.mark.e2e

MODEL = "all-minilm-l6-v2"
LONG = "word " * 3000


@pytest.mark.parametrize(
    ("path", "body", "hint", "not_hint"),
    [
        ("/v1/embeddings", {"model": MODEL, "input": LONG}, "truncate_prompt_tokens", None),
        (f"/models/{MODEL}/embed", {"inputs": LONG}, '"truncate": true', "truncate_prompt_tokens"),
        (
            "/api/embed",
            {"model": MODEL, "input": LONG, "truncate": False},
            '"truncate": true',
            None,
        ),
        (
            f"/v2/models/{MODEL}/infer",
            {"inputs": [{"name": "text", "datatype": "BYTES", "shape": [1], "data": [LONG]}]},
            'parameters "truncate": true',
            "truncate_prompt_tokens",
        ),
    ],
    ids=["openai", "tei", "ollama", "kserve"],
)
def test_an_over_long_input_is_a_400_naming_the_protocols_truncation_field(
    reference_server: ServerProcess,
    path: str,
    body: dict[str, Any],
    hint: str,
    not_hint: str | None,
) -> None:
    response = httpx.post(
        reference_server.base_url + path, json=body, headers=reference_server.headers, timeout=60
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    text = error if isinstance(error, str) else error["message"]
    assert "max_input_tokens" in text
    assert hint in text
    if not_hint is not None:
        assert not_hint not in text
