"""Stream a chat answer token by token, then print the token usage.

    python examples/streaming_chat.py "To be, or not to be"

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
    parser.add_argument("prompt", nargs="?", default="To be, or not to be")
    parser.add_argument("--model", default=os.environ.get("MAASKIT_CHAT_MODEL", "tiny-shakespeare"))
    parser.add_argument("--max-tokens", type=int, default=48)
    args = parser.parse_args(argv)

    base_url = os.environ.get("MAASKIT_BASE_URL", DEFAULT_BASE_URL)
    usage = None
    with maaskit.Client(base_url=base_url, api_key=os.environ.get("MAASKIT_API_KEY")) as client:
        try:
            stream = client.chat(
                model=args.model,
                messages=[{"role": "user", "content": args.prompt}],
                max_tokens=args.max_tokens,
                stream=True,
                stream_options={"include_usage": True},
            )
            with stream:
                for chunk in stream:
                    print(chunk.text, end="", flush=True)
                    usage = chunk.usage or usage
        except maaskit.MaaSError as error:
            partial = getattr(error, "partial_text", None)
            print(
                f"\nerror: {error}" + (f" (after {partial!r})" if partial else ""), file=sys.stderr
            )
            return 1
    print()
    print(f"[usage={usage}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
