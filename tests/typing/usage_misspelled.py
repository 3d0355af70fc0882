"""The twin of usage_correct.py with one parameter misspelled per method: ``mypy --strict``
must FAIL on it, naming each misspelled parameter (tests/sdk/test_typed_params.py)."""

from __future__ import annotations

import maaskit


def sync_use(client: maaskit.Client) -> str:
    answer = client.chat(model="m", messages=[{"role": "user", "content": "hi"}], max_token=2)
    vectors = client.embed(model="e", input=["a"], dimension=8).vectors
    return answer.text + str(len(vectors))


async def async_use(client: maaskit.AsyncClient) -> str:
    answer = await client.chat(
        model="m", messages=[{"role": "user", "content": "hi"}], temprature=0.5
    )
    completion = await client.complete(model="m", prompt="p", top_pp=0.5)
    return answer.text + completion.text
