"""``python -m maaskit_server._build NAME OUT_DIR`` builds one default model into OUT_DIR/NAME.

``python -m maaskit_server._build --minilm-fixture PATH`` writes the MiniLM reference vectors.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from maaskit_server._build import BUILDERS, build


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m maaskit_server._build")
    parser.add_argument("name", nargs="?", choices=sorted(BUILDERS))
    parser.add_argument("out_dir", nargs="?", type=Path)
    parser.add_argument("--minilm-fixture", type=Path, metavar="PATH")
    args = parser.parse_args(argv)
    if args.minilm_fixture is not None:
        from maaskit_server._build import minilm

        minilm.write_fixture(args.minilm_fixture)
    if args.name is not None:
        if args.out_dir is None:
            parser.error("OUT_DIR is required with NAME")
        build(args.name, args.out_dir)
    elif args.minilm_fixture is None:
        parser.error("give NAME OUT_DIR or --minilm-fixture PATH")


if __name__ == "__main__":
    main()
