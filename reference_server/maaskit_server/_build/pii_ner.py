"""Builds ``pii-ner``, the default PII recogniser: all-MiniLM-L6-v2 fine-tuned for token
classification (BIO tags for persons, organisations and places) on the project's synthetic
corpus, exported to ONNX and quantised to int8.

Steps (the finetune environment of ``.ci/run``: torch, transformers, optimum-onnx; no network):

1. collect: the shipped corpus (``maaskit.privacy.load_corpus``), train split minus the
   sentences sharing an entity value with the test split (``pii_ner_train.held_out_rows``);
2. train: ``pii_ner_train.finetune`` (every weight but the word-piece table, a few epochs);
3. export: optimum ``token-classification`` (output ``logits``), then int8 weights
   (``MatMulNBits`` 8-bit, as the other encoders);
4. evaluate: fp32 and int8 graphs on the test split through the server's own tokenizer and
   aggregation (``simple``), exact-span recall and precision per entity type; the build fails
   below recall 0.90 for persons;
5. write the folder: ``model.onnx``, tokenizer files, ``config.json`` (labels),
   ``maaskit.json`` (task ``token-classification``) and the model card.

An earlier attempt, a logistic head over the frozen int8 encoder's states, reached only
0.48-0.85 person recall; ``compose`` (encoder graph + a fixed linear head) remains for the
tests, which build a toy token-classification model with a known answer from it.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from maaskit_server._build import _common

NAME = "pii-ner"
ENCODER = Path(__file__).resolve().parent.parent / "models" / "all-minilm-l6-v2"
LABELS: tuple[str, ...] = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC")
KIND_TO_TYPE = {"PERSON": "PER", "ORG": "ORG", "LOCATION": "LOC"}
TYPE_TO_KIND = {value: key for key, value in KIND_TO_TYPE.items()}
MIN_PERSON_RECALL = 0.90
MAX_INPUT_TOKENS = 256


def token_labels(
    offsets: Sequence[tuple[int, int]], spans: Sequence[tuple[int, int, str]]
) -> list[int]:
    """BIO label ids for tokens at ``offsets`` given labelled character ``spans``."""
    labels = [0] * len(offsets)
    for start, end, kind in spans:
        entity = KIND_TO_TYPE.get(kind)
        if entity is None:
            continue
        first = True
        for index, (token_start, token_end) in enumerate(offsets):
            if token_start >= start and token_end <= end and token_end > token_start:
                labels[index] = LABELS.index(("B-" if first else "I-") + entity)
                first = False
    return labels


def _encoder_states(
    session: Any, prefix: list[int], suffix: list[int], rows: Sequence[list[int]], batch: int = 64
) -> list[npt.NDArray[np.float32]]:
    """``last_hidden_state`` of each row's content tokens (special tokens dropped)."""
    states: list[npt.NDArray[np.float32]] = []
    for first in range(0, len(rows), batch):
        chunk = [
            [*prefix, *ids[: MAX_INPUT_TOKENS - 2], *suffix] for ids in rows[first : first + batch]
        ]
        longest = max(len(ids) for ids in chunk)
        input_ids = np.zeros((len(chunk), longest), np.int64)
        mask = np.zeros_like(input_ids)
        for row, ids in enumerate(chunk):
            input_ids[row, : len(ids)] = ids
            mask[row, : len(ids)] = 1
        (hidden,) = session.run(
            ["last_hidden_state"],
            {
                "input_ids": input_ids,
                "attention_mask": mask,
                "token_type_ids": np.zeros_like(input_ids),
            },
        )
        for row, ids in enumerate(chunk):
            states.append(hidden[row, len(prefix) : len(ids) - len(suffix)].astype(np.float32))
    return states


def compose(
    encoder_onnx: Path, weights: npt.NDArray[np.float32], bias: npt.NDArray[np.float32], out: Path
) -> None:
    """Write the encoder graph with the head appended: ``logits = last_hidden_state @ W + b``."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(encoder_onnx))
    graph = model.graph
    graph.initializer.extend(
        [
            numpy_helper.from_array(weights.astype(np.float32), "pii_head.weight"),
            numpy_helper.from_array(bias.astype(np.float32), "pii_head.bias"),
        ]
    )
    graph.node.extend(
        [
            helper.make_node(
                "MatMul",
                ["last_hidden_state", "pii_head.weight"],
                ["pii_head.scores"],
                name="pii_head/MatMul",
            ),
            helper.make_node(
                "Add", ["pii_head.scores", "pii_head.bias"], ["logits"], name="pii_head/Add"
            ),
        ]
    )
    del graph.output[:]
    graph.output.append(
        helper.make_tensor_value_info(
            "logits", TensorProto.FLOAT, ["batch_size", "sequence_length", len(LABELS)]
        )
    )
    onnx.checker.check_model(model)
    onnx.save(model, str(out))


def person_words(rows: Sequence[Any]) -> set[str]:
    """The words (casefolded) of every person labelled in ``rows``."""
    return {
        word
        for row in rows
        for start, end, kind in row.spans
        if kind == "PERSON"
        for word in row.text[start:end].casefold().split()
    }


def evaluate_graph(
    model_dir: Path, rows: Sequence[Any], *, seen_words: set[str] | None = None
) -> dict[str, dict[str, float]]:
    """Exact-span recall/precision per entity type of the model folder, with the server's
    windowing-free path (corpus sentences fit one window) and ``simple`` aggregation.

    With ``seen_words``, an extra ``PERSON_UNSEEN`` row scores the recall of the test persons
    none of whose words is in that set (names the model never saw in training).
    """
    import onnxruntime as ort

    from maaskit_server.runtimes._entities import TokenProbabilities, entities
    from maaskit_server.runtimes.classification import softmax
    from maaskit_server.tokenization import TextTokenizer

    tokenizer = TextTokenizer(model_dir / "tokenizer.json")
    prefix, suffix = tokenizer.special_ids()
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    session = ort.InferenceSession(
        str(model_dir / "model.onnx"), opts, providers=["CPUExecutionProvider"]
    )
    input_names = {i.name for i in session.get_inputs()}
    counts = {kind: [0, 0, 0] for kind in KIND_TO_TYPE}  # labelled, found, correct
    unseen = [0, 0]  # labelled, correct
    encoded = tokenizer.encode_content([row.text for row in rows])
    for first in range(0, len(rows), 64):
        batch = list(range(first, min(first + 64, len(rows))))
        chunk = [[*prefix, *encoded[i][0], *suffix] for i in batch]
        longest = max(len(ids) for ids in chunk)
        input_ids = np.zeros((len(chunk), longest), np.int64)
        mask = np.zeros_like(input_ids)
        for row, ids in enumerate(chunk):
            input_ids[row, : len(ids)] = ids
            mask[row, : len(ids)] = 1
        feeds = {
            "input_ids": input_ids,
            "attention_mask": mask,
            "token_type_ids": np.zeros_like(input_ids),
        }
        (logits,) = session.run(
            ["logits"], {name: value for name, value in feeds.items() if name in input_names}
        )
        probabilities = softmax(logits)
        for row, index in enumerate(batch):
            ids, offsets, word_ids = encoded[index]
            content = probabilities[row, len(prefix) : len(prefix) + len(ids)]
            found = entities(
                rows[index].text, TokenProbabilities(offsets, word_ids, content), LABELS
            )
            predicted = {(e["start"], e["end"], TYPE_TO_KIND[e["entity_group"]]) for e in found}
            gold = {span for span in rows[index].spans if span[2] in KIND_TO_TYPE}
            for _, _, kind in gold:
                counts[kind][0] += 1
            for _, _, kind in predicted:
                counts[kind][1] += 1
            for _, _, kind in gold & predicted:
                counts[kind][2] += 1
            if seen_words is not None:
                text = rows[index].text
                for span in gold:
                    words = set(text[span[0] : span[1]].casefold().split())
                    if span[2] == "PERSON" and not words & seen_words:
                        unseen[0] += 1
                        unseen[1] += span in predicted
    scores: dict[str, dict[str, float]] = {
        kind: {
            "labelled": labelled,
            "recall": correct / labelled if labelled else 1.0,
            "precision": correct / found if found else 1.0,
        }
        for kind, (labelled, found, correct) in counts.items()
    }
    if seen_words is not None:
        scores["PERSON_UNSEEN"] = {
            "labelled": unseen[0],
            "recall": unseen[1] / unseen[0] if unseen[0] else 1.0,
        }
    return scores


def _write_folder(export_dir: Path, out_dir: Path, quantized: Path) -> None:
    """The final files: int8 graph, unpadded compact tokenizer, config, ``maaskit.json``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(quantized, out_dir / "model.onnx")
    _common.copy_tokenizer_files(export_dir, out_dir)
    # Compact JSON: 711 KB -> 466 KB, which keeps the folder under its 24 MB budget.
    tok = out_dir / "tokenizer.json"
    data = json.loads(tok.read_text(encoding="utf-8"))
    tok.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    # The fast tokenizer (tokenizer.json) is complete; the slow one's vocab.txt is 232 KB more.
    (out_dir / "vocab.txt").unlink(missing_ok=True)
    config = json.loads((export_dir / "config.json").read_text(encoding="utf-8"))
    config["id2label"] = {str(i): label for i, label in enumerate(LABELS)}
    config["label2id"] = {label: i for i, label in enumerate(LABELS)}
    _common.write_json(out_dir / "config.json", config)
    options = {
        "task": "token-classification",
        "max_input_tokens": MAX_INPUT_TOKENS,
        "batching": {"max_batch_size": 64, "max_queue_delay_ms": 0},
        "price_per_million_tokens": 0.0,
        "description": (
            "PII recogniser (PER/ORG/LOC): all-MiniLM-L6-v2 fine-tuned for token "
            "classification on the project's synthetic corpus, int8 ONNX"
        ),
    }
    _common.write_json(out_dir / "maaskit.json", options)


def build(out_dir: Path, *, work_dir: Path | None = None) -> None:
    """Write the ``pii-ner`` model folder to ``out_dir`` (torch: the finetune environment)."""
    import tempfile

    from maaskit.privacy import load_corpus

    from maaskit_server._build import minilm, pii_ner_train
    from maaskit_server._build.pii_ner_card import card

    _common.set_offline()
    started = time.monotonic()
    train_rows, test_rows = load_corpus("train"), load_corpus("test")
    with tempfile.TemporaryDirectory() as tmp:
        work = work_dir or Path(tmp)
        trained = work / "trained"
        result = pii_ner_train.finetune(minilm.source_dir(), train_rows, test_rows, trained)
        kept, _ = pii_ner_train.held_out_rows(train_rows, test_rows)
        seen = person_words(kept)
        export_dir = work / "onnx"
        _common.optimum_export(trained, "token-classification", export_dir)
        fp32_scores = evaluate_graph(export_dir, test_rows, seen_words=seen)
        quantized = work / "model.int8.onnx"
        _common.quantize_int8(export_dir / "model.onnx", quantized)
        _write_folder(export_dir, out_dir, quantized)
    scores = evaluate_graph(out_dir, test_rows, seen_words=seen)
    stats = {
        "train_sentences": result.sentences,
        "dropped_for_names": result.dropped_for_names,
        "test_sentences": len(test_rows),
        "train_tokens": result.tokens,
        "epochs": result.epochs,
        "settings": pii_ner_train.settings(),
        "epoch_seconds": result.epoch_seconds,
        "epoch_loss": result.epoch_loss,
        "fp32_scores": fp32_scores,
        "scores": scores,
        "size_mb": _common.size_mb(out_dir),
        "seconds": time.monotonic() - started,
    }
    if work_dir is not None:
        _common.write_json(work_dir / "stats.json", stats)
    (out_dir / "README.md").write_text(card(stats), encoding="utf-8")
    if scores["PERSON"]["recall"] < MIN_PERSON_RECALL:
        raise RuntimeError(f"person recall {scores['PERSON']['recall']:.3f} < {MIN_PERSON_RECALL}")
