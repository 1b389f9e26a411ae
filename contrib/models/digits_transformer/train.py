"""Train the digits transformer encoder on the bundled UCI digits and write its weights and program.

Run from the repository root: ``.venv/bin/python contrib/models/digits_transformer/train.py``.
Seeds are fixed; re-running reproduces the test accuracy within 0.01 (it is usually
identical). Writes ``model.safetensors`` (the state dict for ``model.py``), ``program/``
(``fw.jit.save``) and ``metrics.json``. Takes about a minute on 2 cores.
"""

import os

# One BLAS thread: faster for these small matrices, and sums come out the same every run.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import json  # noqa: E402
import sys
from pathlib import Path

import numpy as np

import framework as fw
from framework import nn

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from model import INPUT_SPEC, build_model  # noqa: E402

EPOCHS = 40
BATCH = 64


def evaluate(model, train: bool = False) -> dict:
    """Accuracy of ``model`` (a module or a loaded program) on the bundled digits test split."""
    data = fw.data.Digits(train=train, flatten=True)
    with fw.no_grad():
        logits = model(data.data.reshape(-1, 8, 8))
    predicted = logits.numpy().argmax(1)
    return {"accuracy": float((predicted == data.targets.numpy()).mean())}


def train() -> dict:
    fw.manual_seed(0)
    np.random.seed(0)
    model = build_model()
    data = fw.data.Digits(train=True, flatten=True)
    loader = fw.data.DataLoader(data, batch_size=BATCH, shuffle=True,
                                generator=fw.Generator().manual_seed(0))
    opt = fw.optim.Adam(model.parameters(), lr=3e-3)
    loss_fn = nn.CrossEntropyLoss()
    for _epoch in range(EPOCHS):
        model.train()
        for x, y in loader:
            opt.zero_grad()
            loss = loss_fn(model(x.reshape(-1, 8, 8)), y)
            loss.backward()
            opt.step()
    model.eval()
    fw.save(model.state_dict(), str(HERE / "model.safetensors"))
    fw.jit.save(model, str(HERE / "program"), INPUT_SPEC)
    metrics = {"test": evaluate(model), "train": evaluate(model, train=True)}
    (HERE / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")
    return metrics


if __name__ == "__main__":
    print(json.dumps(train(), indent=1))
