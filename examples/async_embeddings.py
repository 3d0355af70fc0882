"""Embed several batches of sentences concurrently with the async client.

    python examples/async_embeddings.py "a cat sat" "a dog sat" "stock prices fell"

Settings: MAASKIT_BASE_URL (default http://127.0.0.1:8000/v1), MAASKIT_API_KEY (optional),
MAASKIT_EMBED_MODEL or --model (default all-minilm-l6-v2), --batch-size (default 2).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import sys

import maaskit

DEFAULT_BASE_URL = "http://127.0.0.1:8000/v1"
DEFAULT_SENTENCES = ["A cat sat on the mat.", "A dog sat on the rug.", "Stock prices fell today."]


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


async def embed_all(
    client: maaskit.AsyncClient, model: str, sentences: list[str], batch_size: int
) -> list[list[float]]:
    batches = [sentences[i : i + batch_size] for i in range(0, len(sentences), batch_size)]
    # One request per batch, all in flight at once; gather keeps the input order.
    responses = await asyncio.gather(*(client.embed(model=model, input=b) for b in batches))
    return [vector for response in responses for vector in response.vectors]


async def run(args: argparse.Namespace) -> int:
    base_url = os.environ.get("MAASKIT_BASE_URL", DEFAULT_BASE_URL)
    api_key = os.environ.get("MAASKIT_API_KEY")
    async with maaskit.AsyncClient(base_url=base_url, api_key=api_key) as client:
        try:
            vectors = await embed_all(client, args.model, args.sentences, args.batch_size)
        except maaskit.MaaSError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    print(f"{len(vectors)} vectors of {len(vectors[0])} dimensions")
    for i, sentence in enumerate(args.sentences[1:], start=1):
        print(f"cosine({args.sentences[0]!r}, {sentence!r}) = {cosine(vectors[0], vectors[i]):.3f}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sentences", nargs="*", default=DEFAULT_SENTENCES)
    parser.add_argument(
        "--model", default=os.environ.get("MAASKIT_EMBED_MODEL", "all-minilm-l6-v2")
    )
    parser.add_argument("--batch-size", type=int, default=2)
    args = parser.parse_args(argv)
    if args.batch_size < 1:
        parser.error("--batch-size must be at least 1")
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
