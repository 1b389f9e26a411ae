"""Train the character-level LSTM on the bundled Shakespeare text.

Run from the repository root: ``.venv/bin/python contrib/models/shakespeare_lstm/train.py``.
Training uses the first 90% of the text (``fw.data.CharCorpus(train=True)``), the metrics the
last 10% (``train=False``: every non-overlapping 32-character window, each read from
a zero state). Seeds are fixed;
re-running reproduces the validation loss within 0.02 nats. Writes ``model.safetensors``,
``program/`` (``fw.jit.save``) and ``metrics.json``. Takes about 3 minutes on 2 idle cores
(0.1 s a step); ``--export-only`` re-saves the program and metrics from ``model.safetensors``.
"""

import os

# One BLAS thread: faster for these small matrices, and sums come out the same every run.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import json  # noqa: E402
import math
import sys
from pathlib import Path

import numpy as np

import framework as fw
from framework import nn

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from model import INPUT_SPEC, SEQ_LEN, VOCAB_SIZE, build_model  # noqa: E402

STEPS = 1500
BATCH = 32
#: Training windows; the program and the metrics use model.SEQ_LEN (32: the saved graph
#: unrolls the LSTM over every step, and a shorter one keeps the folder small).
TRAIN_SEQ_LEN = 64


def evaluate(model, train: bool = False, limit: int | None = None) -> dict:
    """Next-character loss (nats), bits per character, perplexity and accuracy of ``model``
    (a module or a loaded program) on the validation part of the bundled text."""
    corpus = fw.data.CharCorpus(seq_len=SEQ_LEN, train=train)
    n = len(corpus) if limit is None else min(limit, len(corpus))
    x, y = corpus._batch(np.arange(n))
    nll, correct = 0.0, 0
    with fw.no_grad():
        for start in range(0, n, 256):
            logits = model(x[start:start + 256]).numpy().astype(np.float64)
            target = y[start:start + 256].numpy().reshape(-1)
            logits = logits.reshape(-1, logits.shape[-1])
            shifted = logits - logits.max(1, keepdims=True)
            logp = shifted - np.log(np.exp(shifted).sum(1, keepdims=True))
            nll += float(-logp[np.arange(len(target)), target].sum())
            correct += int((logits.argmax(1) == target).sum())
    total = n * SEQ_LEN
    loss = nll / total
    return {"loss": loss, "bits_per_character": loss / math.log(2),
            "perplexity": math.exp(loss), "accuracy": correct / total}


def train() -> dict:
    fw.manual_seed(0)
    rng = np.random.default_rng(0)
    corpus = fw.data.CharCorpus(seq_len=TRAIN_SEQ_LEN, train=True, stride=1)
    if corpus.vocab_size != VOCAB_SIZE:
        raise RuntimeError(f"the bundled text has {corpus.vocab_size} characters, model.py "
                           f"says {VOCAB_SIZE}")
    model = build_model()
    opt = fw.optim.Adam(model.parameters(), lr=1e-2)
    sched = fw.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=STEPS, eta_min=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    for step in range(STEPS):
        x, y = corpus._batch(rng.integers(0, len(corpus), size=BATCH))
        opt.zero_grad()
        loss = loss_fn(model(x).reshape(-1, VOCAB_SIZE), y.reshape(-1))
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % 100 == 0:
            print(f"step {step}: loss {float(loss.item()):.3f}", flush=True)
    model.eval()
    fw.save(model.state_dict(), str(HERE / "model.safetensors"))
    return export()


def export() -> dict:
    """Save ``model.safetensors`` as a program and measure it (``--export-only`` runs just
    this, for the weights already in the folder)."""
    model = build_model()
    model.load_state_dict(fw.load(str(HERE / "model.safetensors")))
    model.eval()
    fw.jit.save(model, str(HERE / "program"), INPUT_SPEC)
    graph = HERE / "program" / "graph.json"  # the same JSON without indentation: half the size
    graph.write_text(json.dumps(json.loads(graph.read_text()), separators=(",", ":")))
    metrics = {"validation": evaluate(model)}
    (HERE / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")
    return metrics


if __name__ == "__main__":
    print(json.dumps(export() if "--export-only" in sys.argv[1:] else train(), indent=1))
