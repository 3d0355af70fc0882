"""A real ``python -m maaskit_server`` process serving only generation models, for e2e tests.

Generation gets its own process (not the session-wide one) so that gauges such as the running
sequences belong to these tests alone, and so that a deliberately narrow copy of the model
(one running sequence, one waiting) can show the 429 path. Both folders point at the same
committed model files through symlinks.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from _support.server import ServerProcess, start_server, stop_server

REPO = Path(__file__).resolve().parents[2]
COMMITTED_LM = REPO / "reference_server" / "maaskit_server" / "models" / "tiny-shakespeare"
MODEL = "tiny-shakespeare"
NARROW_MODEL = "tiny-shakespeare-narrow"
READY_TIMEOUT_S = 120.0
_LINKED_FILES = (
    "model.onnx",
    "tokenizer.json",
    "config.json",
    "generation_config.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
)


def lm_folder() -> Path | None:
    """The committed model, or ``MAASKIT_TEST_LM_DIR`` (another export) when set."""
    override = os.environ.get("MAASKIT_TEST_LM_DIR")
    folder = Path(override) if override else COMMITTED_LM
    return folder if (folder / "model.onnx").is_file() else None


def build_models_dir(source: Path, root: Path) -> Path:
    models = root / "models"
    models.mkdir()
    (models / MODEL).symlink_to(source.resolve(), target_is_directory=True)
    narrow = models / NARROW_MODEL
    narrow.mkdir()
    for name in _LINKED_FILES:
        if (source / name).exists():
            (narrow / name).symlink_to((source / name).resolve())
    options = json.loads((source / "maaskit.json").read_text(encoding="utf-8"))
    options["batching"] = {"max_running_sequences": 1, "max_waiting": 1}
    # Slow enough that a stream is still running when a test acts on it.
    options["step_delay_ms"] = 25
    (narrow / "maaskit.json").write_text(json.dumps(options), encoding="utf-8")
    return models


@contextmanager
def generation_server(source: Path, root: Path) -> Iterator[ServerProcess]:
    models = build_models_dir(source, root)
    api_key = "maaskit-test-" + secrets.token_hex(12)
    server = start_server(
        root / "server.log", api_key=api_key, models_dir=models, ready_timeout_s=READY_TIMEOUT_S
    )
    try:
        yield server
    finally:
        stop_server(server)
