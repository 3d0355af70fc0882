"""Ask a chat model one question, synchronously.

    MAASKIT_BASE_URL=http://127.0.0.1:8000/v1 python examples/sync_chat.py "Speak, friend"

Settings: MAASKIT_BASE_URL (default http://127.0.0.1:8000/v1), MAASKIT_API_KEY (optional),
MAASKIT_CHAT_MODEL or --model (default tiny-shakespeare).
"""

from __future__ import annotations

import argparse
import os
import sys

import maaskit

DEFAULT_BASE_URL = "http://127.0.0.1:8000/v1"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("prompt", nargs="?", default="Speak, friend, and enter.")
    parser.add_argument("--model", default=os.environ.get("MAASKIT_CHAT_MODEL", "tiny-shakespeare"))
    parser.add_argument("--max-tokens", type=int, default=32)
    args = parser.parse_args(argv)

    base_url = os.environ.get("MAASKIT_BASE_URL", DEFAULT_BASE_URL)
    with maaskit.Client(base_url=base_url, api_key=os.environ.get("MAASKIT_API_KEY")) as client:
        try:
            reply = client.chat(
                model=args.model,
                messages=[{"role": "user", "content": args.prompt}],
                max_tokens=args.max_tokens,
            )
        except maaskit.MaaSError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    print(reply.text)
    print(f"[finish_reason={reply.finish_reason} usage={reply.usage}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
