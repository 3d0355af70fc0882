"""Rerank documents, score similarity, call a model on raw tensors, and sign every request.

    python examples/rerank_tensors_middleware.py "a kitten on a rug" "The cat sat." "Stocks fell."

Settings: MAASKIT_BASE_URL (default http://127.0.0.1:8000/v1), MAASKIT_API_KEY (optional),
--model (default all-minilm-l6-v2). The KServe v2 routes are at the same server's root.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import os
import sys

import httpx
import maaskit

DEFAULT_BASE_URL = "http://127.0.0.1:8000/v1"
SIGNING_KEY = b"example-signing-key"  # a shared secret of your gateway, not the API key


def sign(
    request: httpx.Request, call_next: maaskit.CallNext, attempt: maaskit.AttemptInfo
) -> httpx.Response:
    """Sign each attempt's body; the API key is added after this runs, so it is never seen."""
    digest = hmac.new(SIGNING_KEY, request.content, hashlib.sha256).hexdigest()
    request.headers["X-Body-Signature"] = digest
    response = call_next(request)
    print(
        f"  [{attempt.task} attempt {attempt.attempt} on {attempt.endpoint}: "
        f"{response.status_code}]"
    )
    return response


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("query")
    parser.add_argument("documents", nargs="+")
    parser.add_argument("--model", default="all-minilm-l6-v2")
    args = parser.parse_args(argv)
    base_url = os.environ.get("MAASKIT_BASE_URL", DEFAULT_BASE_URL)
    api_key = os.environ.get("MAASKIT_API_KEY")

    with maaskit.Client(base_url=base_url, api_key=api_key, middleware=[sign]) as client:
        ranked = client.rerank(model=args.model, query=args.query, documents=args.documents)
        for result in ranked.results:
            print(f"{result.relevance_score:+.4f}  #{result.index}  {result.document}")
        similar = client.similarity(model=args.model, source=args.query, sentences=args.documents)
        print("similarity:", ", ".join(f"{score:.4f}" for score in similar.scores))

    root = base_url.removesuffix("/").removesuffix("/v1")
    with maaskit.Client(provider="kserve", base_url=root, api_key=api_key) as kserve:
        answer = kserve.infer(
            model=args.model,
            inputs=[
                maaskit.InferInput(name="text", datatype="BYTES", shape=[1, 1], data=[args.query])
            ],
            outputs=["embedding"],
        )
        embedding = answer["embedding"]
        print(f"infer: {embedding.name} {embedding.datatype} {embedding.shape}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
