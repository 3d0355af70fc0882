"""onnxruntime sessions as the server makes them: a model at rest costs no CPU."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from maaskit_server.runtimes._session import create_session
from maaskit_server.tokenization import TextTokenizer

MODEL_DIR = Path(__file__).resolve().parents[2] / "reference_server/maaskit_server/models"


def test_threads_stop_spinning_when_a_call_returns() -> None:
    # onnxruntime's default leaves its pool spinning for tens of ms after every call (about 50 ms
    # of a core per lone request on the CI machine); the server's sessions must not.
    folder = MODEL_DIR / "all-minilm-l6-v2"
    session = create_session(folder / "model.onnx", intra_op_threads=2)
    ids = np.asarray([TextTokenizer(folder / "tokenizer.json").encode(["at rest"])[0]], np.int64)
    feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
    feeds = {node.name: feeds.get(node.name, np.zeros_like(ids)) for node in session.get_inputs()}
    burnt = []
    for _ in range(3):
        session.run(None, feeds)
        started = time.process_time()
        time.sleep(0.2)
        burnt.append(time.process_time() - started)
    assert min(burnt) < 0.02, f"CPU seconds used while idle after a call: {burnt}"
