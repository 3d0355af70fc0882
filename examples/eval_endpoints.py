"""Measure two endpoints on labelled data, then route on the measurement.

    python examples/eval_endpoints.py --limit 60 --min-quality 0.7

The reference server's ``sentiment`` model is reached twice — through the OpenAI-compatible
routes and through KServe v2 — priced differently, as two providers of one model would be.
``maaskit.evaluate_async`` measures both on the shipped sentiment set (quality, latency,
cost), and a ``best_value`` client loads the report and sends a call to the cheapest endpoint
whose measured quality reaches ``--min-quality``.

Settings: MAASKIT_BASE_URL (default http://127.0.0.1:8000/v1), MAASKIT_API_KEY (optional).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

import maaskit
from maaskit.eval import EvalReport, dataset_path, evaluate_async

DEFAULT_BASE_URL = "http://127.0.0.1:8000/v1"


def endpoints(base_url: str, api_key: str | None) -> list[maaskit.Endpoint]:
    root = base_url.removesuffix("/").removesuffix("/v1")
    return [
        maaskit.Endpoint(
            name="openai-route",
            provider="openai",
            base_url=base_url,
            api_key=api_key,
            price=maaskit.Price(input=1.0),
        ),
        maaskit.Endpoint(
            name="kserve-route",
            provider="kserve",
            base_url=root,
            api_key=api_key,
            price=maaskit.Price(per_request=0.000001),
        ),
    ]


def print_report(report: EvalReport) -> None:
    print(f"{report.task} on {report.items} items, quality = {report.quality_metric}")
    for entry in report.ranking():
        quality = "—" if entry.quality is None else f"{entry.quality:.3f}"
        cost = "—" if entry.cost_per_1k is None else f"${entry.cost_per_1k:.6f}"
        p95 = "—" if entry.latency_p95_ms is None else f"{entry.latency_p95_ms:.1f} ms"
        print(
            f"  {entry.name:<14} quality {quality}  p95 {p95}  {cost} per 1k  "
            f"errors {entry.error_rate:.0%}"
        )
    for pick in report.recommendations:
        print(f"  {pick.rule}: {pick.endpoint or '—'} ({pick.reason})")


async def run(args: argparse.Namespace) -> int:
    base_url = os.environ.get("MAASKIT_BASE_URL", DEFAULT_BASE_URL)
    chosen = endpoints(base_url, os.environ.get("MAASKIT_API_KEY"))
    report = await evaluate_async(
        chosen,
        task="classify",
        data=dataset_path("sentiment"),
        model="sentiment",
        limit=args.limit,
        concurrency=4,
        min_quality=args.min_quality,
    )
    print_report(report)
    if all(entry.quality is None for entry in report.endpoints):
        print("error: no endpoint answered", file=sys.stderr)
        return 1
    async with maaskit.AsyncClient(
        endpoints=chosen, routing="best_value", min_quality=args.min_quality
    ) as client:
        client.router.load_eval(report.model_dump())
        try:
            answer = await client.classify(model="sentiment", input=[args.text])
        except maaskit.MaaSError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        served = [e.endpoint for e in client.usage().entries if e.successes]
    print(f"routed {args.text!r} to {', '.join(served)}: {answer.results[0].label}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=60, help="rows of the sentiment set")
    parser.add_argument("--min-quality", type=float, default=0.7)
    parser.add_argument("--text", default="What a wonderful surprise, thank you!")
    args = parser.parse_args(argv)
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
