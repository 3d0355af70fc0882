"""``python -m maaskit_server._build NAME OUT_DIR`` builds one default model into OUT_DIR/NAME.

Options: ``--minilm-fixture PATH`` writes the MiniLM reference vectors used by the tests;
``--work-dir DIR`` (sentiment) keeps the intermediate files there; ``--resume`` (sentiment)
reuses a training already finished in ``--work-dir``; ``--reformat-from FOLDER`` (sentiment)
converts an already-built int8 folder to the fp16-stored format without retraining, and
``--sentiment-fixture PATH`` writes the reference logits the tests use.
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
    parser.add_argument("--work-dir", type=Path, metavar="DIR")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--reformat-from", type=Path, metavar="FOLDER")
    parser.add_argument("--sentiment-fixture", type=Path, metavar="PATH")
    args = parser.parse_args(argv)
    if args.minilm_fixture is not None:
        from maaskit_server._build import minilm

        minilm.write_fixture(args.minilm_fixture)
    if args.name is None:
        if args.minilm_fixture is None:
            parser.error("give NAME OUT_DIR or --minilm-fixture PATH")
        return
    if args.out_dir is None:
        parser.error("OUT_DIR is required with NAME")
    if args.name == "sentiment" and args.reformat_from is not None:
        from maaskit_server._build import sentiment_reformat

        sentiment_reformat.reformat(
            args.reformat_from, args.out_dir / args.name, args.sentiment_fixture
        )
    elif args.name == "sentiment" and (args.work_dir or args.resume):
        from maaskit_server._build import sentiment

        if args.resume and args.work_dir is None:
            parser.error("--resume needs --work-dir")
        sentiment.build(args.out_dir / args.name, work_dir=args.work_dir, resume=args.resume)
    else:
        build(args.name, args.out_dir)


if __name__ == "__main__":
    main()
