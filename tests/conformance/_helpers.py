"""Reference answers from the server's own OpenAI routes, which the other protocols must match.

Every protocol runs the same runtimes, so labels must be equal, scores and vectors within
1e-5, and greedy text identical; these helpers fetch the ``/v1`` answer to compare against.
"""

from __future__ import annotations

from typing import Any

import httpx
import numpy as np
import numpy.typing as npt
from _support.server import ServerProcess

EMBEDDING_MODEL = "all-minilm-l6-v2"
SENTIMENT_MODEL = "sentiment"
GENERATION_MODEL = "tiny-shakespeare"
TOLERANCE = 1e-5
TEXTS = ["I love this, it is wonderful!", "This is awful and I hate it."]
PROMPT = "The king"
CHAT = [{"role": "user", "content": "Speak of the king."}]
MAX_TOKENS = 8
TIMEOUT = 60.0


def _post(server: ServerProcess, path: str, body: dict[str, Any]) -> Any:
    response = httpx.post(
        f"{server.base_url}{path}", json=body, headers=server.headers, timeout=TIMEOUT
    )
    assert response.status_code == 200, response.text
    return response.json()


def openai_vectors(server: ServerProcess, texts: list[str]) -> npt.NDArray[np.float64]:
    data = _post(server, "/v1/embeddings", {"model": EMBEDDING_MODEL, "input": texts})["data"]
    return np.array([item["embedding"] for item in data], dtype=np.float64)


def openai_classes(server: ServerProcess, texts: list[str]) -> list[dict[str, float]]:
    """Per input: every label's probability, from vLLM's /v1/classify shape."""
    data = _post(server, "/v1/classify", {"model": SENTIMENT_MODEL, "input": texts})["data"]
    return [dict(zip(item["labels"], item["probs"], strict=True)) for item in data]


def openai_completion(server: ServerProcess, prompt: str = PROMPT) -> str:
    body = {
        "model": GENERATION_MODEL,
        "prompt": prompt,
        "max_tokens": MAX_TOKENS,
        "temperature": 0,
    }
    text: str = _post(server, "/v1/completions", body)["choices"][0]["text"]
    return text


def openai_chat(server: ServerProcess) -> str:
    body = {"model": GENERATION_MODEL, "messages": CHAT, "max_tokens": MAX_TOKENS, "temperature": 0}
    text: str = _post(server, "/v1/chat/completions", body)["choices"][0]["message"]["content"]
    return text


def still_serving(server: ServerProcess) -> None:
    """After a bad request the server answers a good one."""
    vectors = openai_vectors(server, ["still here"])
    assert vectors.shape == (1, 384)
