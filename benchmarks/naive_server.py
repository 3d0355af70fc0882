"""The naive baseline: one onnxruntime call per request, on the event loop, no batching.

This is the server most people write first; the maaskit server is measured against it.
Run: ``python -m benchmarks.naive_server MODEL_FOLDER PORT``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from benchmarks._encoder_model import PlainEncoder


def create_app(folder: Path) -> Starlette:
    encoder = PlainEncoder(folder)
    name = folder.name

    async def embeddings(request: Request) -> JSONResponse:
        body = await request.json()
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        vectors = encoder.run(texts)
        data = [
            {"object": "embedding", "index": i, "embedding": vector.tolist()}
            for i, vector in enumerate(vectors)
        ]
        return JSONResponse({"object": "list", "model": name, "data": data})

    async def classify(request: Request) -> JSONResponse:
        body = await request.json()
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        probs = encoder.run(texts)
        data = [{"index": i, "probs": row.tolist()} for i, row in enumerate(probs)]
        return JSONResponse({"object": "list", "model": name, "data": data})

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route("/v1/embeddings", embeddings, methods=["POST"]),
            Route("/v1/classify", classify, methods=["POST"]),
            Route("/ready", health),
        ]
    )


def main() -> None:
    folder, port = Path(sys.argv[1]), int(sys.argv[2])
    uvicorn.run(create_app(folder), host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()
