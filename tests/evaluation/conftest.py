"""One reference server for the evaluation tests: the default sentiment model, the embedding
model and the zero-shot classifier built by :mod:`._zero_shot`, in one models folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from _support.server import MODELS_DIR
from maaskit.testing._server import MaaSKitServer, start_server

from ._zero_shot import build

ZERO_SHOT = "sentiment-zero-shot"


@pytest.fixture(scope="session")
def eval_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MaaSKitServer]:
    root = tmp_path_factory.mktemp("eval-models")
    models = root / "models"
    models.mkdir()
    for name in ("sentiment", "all-minilm-l6-v2", "tiny-shakespeare"):
        (models / name).symlink_to((MODELS_DIR / name).resolve(), target_is_directory=True)
    build(models / ZERO_SHOT)
    server = start_server(root / "server.log", models_dir=models)
    yield server
    server.stop()


def write_config(path: Path, server: MaaSKitServer) -> Path:
    """Three endpoints: the fine-tuned model (OpenAI protocol, priced by the token), the
    zero-shot one (KServe v2, which reports no tokens: priced by the request, far cheaper),
    and one whose key is wrong, cheapest of all."""
    path.write_text(
        f"""
max_retries = 0

[[endpoints]]
name = "finetuned"
provider = "openai"
base_url = "{server.openai_url}"
api_key = "${{EVAL_TEST_API_KEY}}"
price = {{ input = 2.0, output = 0.0 }}

[[endpoints]]
name = "zero-shot"
provider = "kserve"
base_url = "{server.kserve_url}"
api_key = "${{EVAL_TEST_API_KEY}}"
models = {{ sentiment = "{ZERO_SHOT}" }}
price = {{ per_request = 0.000001 }}

[[endpoints]]
name = "wrong-key"
provider = "openai"
base_url = "{server.openai_url}"
api_key = "not-a-key-of-this-server"
price = {{ input = 0.01, output = 0.0 }}
""",
        encoding="utf-8",
    )
    return path
