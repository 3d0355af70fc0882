"""Masking cost: ``python -m benchmarks.privacy [--quick] [--out DIR]``.

A 2 KB chat message (prose with an e-mail, a phone, a card, an IBAN, an IP address and a key,
the kind of message the masker exists for) and the same size of plain prose: milliseconds per
call and per KB for ``session.mask`` with all rule detectors, each detector alone, ``restore``
and a streamed restore in 8-character chunks. Baseline in the same run: one ``re.sub`` of an
e-mail regex over the text (the least any masker does). No NER detector: that is a model call,
measured by the encoder benchmark.
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from maaskit.privacy import Masker, MaskSession, default_detectors

RESULTS = Path(__file__).resolve().parent / "results"
_PROSE = (
    "Thanks for getting back to me so quickly. I went through the notes from our last call and "
    "I think the plan still works, although the second phase needs a few more days. "
)
_PII = (
    "You can reach me at ada.lovelace@example.org or on +44 20 7946 0958. The refund should go "
    "to card 4111 1111 1111 1111 or to IBAN DE89 3704 0044 0532 0130 00. The server at "
    "203.0.113.42 still uses the key sk-proj-Zx9Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0Lz, please rotate it. "
)


def message(size: int = 2048, *, with_pii: bool = True) -> str:
    unit = _PROSE + (_PII if with_pii else _PROSE)
    text = (unit * (size // len(unit) + 1))[:size]
    return text[: text.rfind(" ")]


def _per_call_ms(call: Callable[[], object], *, seconds: float) -> float:
    for _ in range(3):
        call()
    count, started = 0, time.perf_counter()
    while True:
        call()
        count += 1
        elapsed = time.perf_counter() - started
        if elapsed >= seconds and count >= 5:
            return elapsed / count * 1e3


def _mask(masker: Masker, text: str) -> str:
    return masker.session().mask(text)


def run(*, quick: bool) -> dict[str, Any]:
    seconds = 0.3 if quick else 2.0
    results: dict[str, Any] = {"message_bytes": {}, "ms_per_call": {}, "ms_per_kb": {}}
    email = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
    for label, text in (("pii", message()), ("plain", message(with_pii=False))):
        kb = len(text.encode()) / 1024
        results["message_bytes"][label] = len(text.encode())
        masker = Masker()
        session = masker.session()
        masked = session.mask(text)

        def streamed(masked: str = masked, session: MaskSession = session) -> str:
            restorer = session.stream_restorer()
            parts = [restorer.feed(masked[i : i + 8]) for i in range(0, len(masked), 8)]
            return "".join(parts) + restorer.flush()

        calls: dict[str, Callable[[], object]] = {
            "baseline re.sub (e-mail only)": functools.partial(email.sub, "<EMAIL>", text),
            "mask, all rule detectors": functools.partial(_mask, masker, text),
            "restore": functools.partial(session.restore, masked),
            "stream restore, 8-char chunks": streamed,
        }
        for detector in default_detectors():
            name = f"mask, {type(detector).__name__} only"
            calls[name] = functools.partial(_mask, Masker(detectors=[detector]), text)
        for name, call in calls.items():
            ms = _per_call_ms(call, seconds=seconds)
            results["ms_per_call"][f"{label}: {name}"] = round(ms, 4)
            results["ms_per_kb"][f"{label}: {name}"] = round(ms / kb, 4)
    baseline = results["ms_per_call"]["pii: baseline re.sub (e-mail only)"]
    results["ratios"] = {
        "mask (all) / baseline re.sub": round(
            results["ms_per_call"]["pii: mask, all rule detectors"] / baseline, 1
        )
    }
    return results


def markdown(results: dict[str, Any]) -> str:
    lines = [
        "# Masking cost (one run, this machine)",
        "",
        f"Messages: {results['message_bytes']} bytes.",
        "",
        "| what | ms per call | ms per KB |",
        "|---|---:|---:|",
    ]
    for name, ms in results["ms_per_call"].items():
        lines.append(f"| {name} | {ms:.3f} | {results['ms_per_kb'][name]:.3f} |")
    lines += ["", f"Ratios: {results['ratios']}"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.privacy")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    results = run(quick=args.quick)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "privacy.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    (args.out / "privacy.md").write_text(markdown(results), encoding="utf-8")
    print(markdown(results))


if __name__ == "__main__":
    main()
