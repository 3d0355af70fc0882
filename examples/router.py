"""Choose providers per call: a router over several endpoints, with failover and a ledger.

    MAASKIT_BASE_URL=http://127.0.0.1:8000/v1 python examples/router.py "Speak, friend"

Two endpoints: "offline", where nothing answers (a closed port, as a provider in an outage
looks), and "local", the reference server. ``priority`` tries them in order, so each call
fails over from "offline" to "local" at once (no backoff: it is another backend); after two
failures the breaker of "offline" opens and calls stop trying it. The ledger then says what
each endpoint cost.

Settings: MAASKIT_BASE_URL (default http://127.0.0.1:8000/v1), MAASKIT_API_KEY (optional),
MAASKIT_CHAT_MODEL or --model (default tiny-shakespeare).
"""

from __future__ import annotations

import argparse
import os
import sys

import maaskit

DEFAULT_BASE_URL = "http://127.0.0.1:8000/v1"
# Port 9 is "discard": on loopback nothing listens there, so a connection is refused at once.
OFFLINE_URL = "http://127.0.0.1:9/v1"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("prompt", nargs="?", default="Speak, friend, and enter.")
    parser.add_argument("--model", default=os.environ.get("MAASKIT_CHAT_MODEL", "tiny-shakespeare"))
    parser.add_argument("--calls", type=int, default=3)
    args = parser.parse_args(argv)

    key = os.environ.get("MAASKIT_API_KEY")
    endpoints = [
        maaskit.Endpoint(
            name="offline",
            provider="openai",
            base_url=OFFLINE_URL,
            price=maaskit.Price(input=0.05, output=0.20),
        ),
        maaskit.Endpoint(
            name="local",
            provider="openai",
            base_url=os.environ.get("MAASKIT_BASE_URL", DEFAULT_BASE_URL),
            api_key=key,
            price=maaskit.Price(input=0.10, output=0.40),
        ),
    ]
    breaker = maaskit.BreakerPolicy(failure_threshold=2, cooldown=30.0)
    with maaskit.Client(endpoints=endpoints, routing="priority", breaker=breaker) as client:
        for _ in range(args.calls):
            try:
                reply = client.chat(
                    model=args.model,
                    messages=[{"role": "user", "content": args.prompt}],
                    max_tokens=8,
                )
            except maaskit.MaaSError as error:
                print(f"error: {error}", file=sys.stderr)
                return 1
            cost = reply.usage.cost if reply.usage is not None else None
            print(f"{reply.text!r} cost=${cost:.8f}" if cost is not None else repr(reply.text))
        for name, health in client.router.health().items():
            print(f"health {name}: {health.state} after {health.consecutive_failures} failure(s)")
        for entry in client.usage().entries:
            print(
                f"ledger {entry.endpoint}: calls={entry.calls} successes={entry.successes} "
                f"failures={entry.failures} tokens={entry.prompt_tokens}+"
                f"{entry.completion_tokens} cost=${entry.cost:.8f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
