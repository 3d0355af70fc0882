"""Typed use of the SDK's methods: ``mypy --strict`` must pass on it (see
tests/sdk/test_typed_params.py).

Not collected by pytest (no ``test_`` prefix) and never run: only type-checked.
"""

from __future__ import annotations

import maaskit
from pydantic import BaseModel


class City(BaseModel):
    name: str
    population: int


def sync_use(client: maaskit.Client) -> str:
    answer = client.chat(
        model="m",
        messages=[{"role": "user", "content": "hi"}],
        max_tokens=2,
        temperature=0.0,
        stop=["\n"],
        tools=[{"type": "function", "function": {"name": "f", "parameters": {}}}],
        tool_choice="auto",
        response_format=City,
        timeout=5.0,
        extra_headers={"x-trace": "1"},
        extra_body={"top_k": 4},
    )
    with client.chat(model="m", messages=[{"role": "user", "content": "hi"}], stream=True) as s:
        final: maaskit.ChatResponse = s.final()
    vectors = client.embed(model="e", input=["a"], dimensions=8).vectors
    label = client.classify(model="c", input="a", max_retries=1).results[0].label
    text = client.complete(model="m", prompt="p", max_tokens=3, logprobs=2).text
    return answer.text + final.text + str(len(vectors)) + label + text


async def async_use(client: maaskit.AsyncClient) -> str:
    answer = await client.chat(model="m", messages=[{"role": "user", "content": "hi"}], n=2)
    async with client.chat(
        model="m", messages=[{"role": "user", "content": "hi"}], stream=True
    ) as stream:
        texts = [chunk.text async for chunk in stream]
    stream2 = await client.complete(model="m", prompt="p", stream=True)
    completion: maaskit.Completion = await stream2.final()
    return answer.text + "".join(texts) + completion.text
