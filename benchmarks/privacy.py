"""Masking cost: ``python -m benchmarks.privacy [--quick] [--out DIR]``.

A 2 KB chat message (prose with an e-mail, a phone, a card, an IBAN, an IP address and a key,
the kind of message the masker exists for) and the same size of plain prose: milliseconds per
call and per KB for ``session.mask`` with all rule detectors, each detector alone, ``restore``
and a streamed restore in 8-character chunks. Each repetition of the PII paragraph has values
of its own, and ``mask`` runs with a new ``Masker`` each call (nothing remembered from an
earlier call); "again" re-masks the same message with one ``Masker``, as a conversation
re-sends its history (the phone detector remembers which candidates were valid). Also part of
``python -m benchmarks run``. Baseline in the same run: one ``re.sub`` of an
e-mail regex over the text (the least any masker does). No NER detector: that is a model call,
measured by the encoder benchmark.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from maaskit.privacy import Detector, Masker, MaskSession, default_detectors

RESULTS = Path(__file__).resolve().parent / "results"
_PROSE = (
    "Thanks for getting back to me so quickly. I went through the notes from our last call and "
    "I think the plan still works, although the second phase needs a few more days. "
)


def _luhn_digit(digits: str) -> str:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return str(-total % 10)


def _iban(account: int) -> str:
    bban = f"37040044{account:010d}"
    check = 98 - int(bban + "131400") % 97  # "DE" -> 13 14, check digits "00"
    compact = f"DE{check:02d}{bban}"
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def _pii(index: int) -> str:
    """The PII paragraph with values of its own, so that no check is answered from a cache."""
    card = f"411111111111{index:03d}"
    card += _luhn_digit(card)
    key = "".join("Zx9Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0Lz"[(i + index) % 32] for i in range(32))
    return (
        f"You can reach me at ada.lovelace{index}@example.org or on +44 20 7946 {index:04d}. The "
        f"refund should go to card {' '.join(card[i : i + 4] for i in range(0, 16, 4))} or to "
        f"IBAN {_iban(532013000 + index)}. The server at 203.0.113.{index % 250 + 1} still uses "
        f"the key sk-proj-{key}, please rotate it. "
    )


def message(size: int = 2048, *, with_pii: bool = True) -> str:
    units: list[str] = []
    index = 0
    while sum(len(unit) for unit in units) < size:
        units.append(_PROSE + (_pii(index) if with_pii else _PROSE))
        index += 1
    text = "".join(units)[:size]
    return text[: text.rfind(" ")]


def _per_call_ms(call: Callable[[], object], *, seconds: float) -> tuple[float, float]:
    """Wall-clock and CPU milliseconds per call (CPU time is what a loaded machine distorts
    least: wall time also counts the time other processes had the core)."""
    for _ in range(3):
        call()
    count, started, cpu_started = 0, time.perf_counter(), time.process_time()
    while True:
        call()
        count += 1
        elapsed = time.perf_counter() - started
        if elapsed >= seconds and count >= 5:
            cpu = time.process_time() - cpu_started
            return elapsed / count * 1e3, cpu / count * 1e3


def _mask(masker: Masker, text: str) -> str:
    return masker.session().mask(text)


def _mask_cold_one(detector: Callable[[], Detector], text: str) -> str:
    return Masker(detectors=[detector()]).session().mask(text)


def _mask_cold(text: str) -> str:
    return Masker().session().mask(text)


def run(*, quick: bool) -> dict[str, Any]:
    seconds = 0.3 if quick else 2.0
    results: dict[str, Any] = {
        "message_bytes": {},
        "ms_per_call": {},
        "ms_per_kb": {},
        "cpu_ms_per_kb": {},
        # The machine is shared: the 1-minute load average around the run says how much.
        "load_average": {"before": round(os.getloadavg()[0], 2)},
    }
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
            # A new Masker each call: no number checked before (the first message).
            "mask, all rule detectors": functools.partial(_mask_cold, text),
            # One Masker: the same message again, as a conversation re-sends its history.
            "mask, all rule detectors, again": functools.partial(_mask, masker, text),
            "restore": functools.partial(session.restore, masked),
            "stream restore, 8-char chunks": streamed,
        }
        for detector in default_detectors():
            name = f"mask, {type(detector).__name__} only"
            calls[name] = functools.partial(_mask_cold_one, type(detector), text)
        for name, call in calls.items():
            ms, cpu_ms = _per_call_ms(call, seconds=seconds)
            results["ms_per_call"][f"{label}: {name}"] = round(ms, 4)
            results["ms_per_kb"][f"{label}: {name}"] = round(ms / kb, 4)
            results["cpu_ms_per_kb"][f"{label}: {name}"] = round(cpu_ms / kb, 4)
    results["load_average"]["after"] = round(os.getloadavg()[0], 2)
    results["cpu_count"] = os.cpu_count()
    baseline = results["ms_per_call"]["pii: baseline re.sub (e-mail only)"]
    results["ratios"] = {
        "mask (all) / baseline re.sub": round(
            results["ms_per_call"]["pii: mask, all rule detectors"] / baseline, 1
        )
    }
    return results


def markdown_lines(results: dict[str, Any]) -> list[str]:
    load = results["load_average"]
    lines = [
        "### Masking cost (maaskit.privacy, rule detectors, no NER)",
        "",
        f"Messages: {results['message_bytes']} bytes; load average {load['before']} before, "
        f"{load['after']} after, on {results.get('cpu_count')} logical cores.",
        "",
        "| what | ms per call | ms per KB | CPU ms per KB |",
        "|---|---:|---:|---:|",
    ]
    for name, ms in results["ms_per_call"].items():
        lines.append(
            f"| {name} | {ms:.3f} | {results['ms_per_kb'][name]:.3f} "
            f"| {results['cpu_ms_per_kb'][name]:.3f} |"
        )
    lines += ["", f"Ratios: {results['ratios']}", ""]
    return lines


def markdown(results: dict[str, Any]) -> str:
    return "\n".join(markdown_lines(results)) + "\n"


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
