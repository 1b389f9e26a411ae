"""Tiny real models for the model zoo's tests: a linear digits classifier fitted by least
squares (a fraction of a second), saved as a static program or as model.py + safetensors."""

from __future__ import annotations

import textwrap
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

import framework as fw


@lru_cache(maxsize=1)
def digits_linear() -> tuple[np.ndarray, np.ndarray, float]:
    """(weight (10, 64), bias (10,), test accuracy) of a least-squares digits classifier."""
    from framework.data.datasets import _digits_arrays, _digits_test_mask

    images, labels = _digits_arrays()
    test = _digits_test_mask(labels)
    x = images.reshape(len(images), 64).astype(np.float32) / 16
    onehot = np.eye(10, dtype=np.float32)[labels]
    xa = np.hstack([x[~test], np.ones((int((~test).sum()), 1), np.float32)])
    coef, *_ = np.linalg.lstsq(xa, onehot[~test], rcond=None)
    weight, bias = coef[:64].T.copy(), coef[64].copy()
    accuracy = float(((x[test] @ weight.T + bias).argmax(1) == labels[test]).mean())
    return weight.astype(np.float32), bias.astype(np.float32), accuracy


def linear_model() -> fw.nn.Module:
    weight, bias, _acc = digits_linear()
    model = fw.nn.Linear(64, 10)
    model.load_state_dict({"weight": fw.from_numpy(weight), "bias": fw.from_numpy(bias)})
    return model


def card_text(*, accuracy: float | None = None, outputs_shape=(None, 10),
              task="image-classification", tags=("digits", "linear"), extra: str = "") -> str:
    metrics = ""
    if accuracy is not None:
        metrics = ("metrics:\n  - {name: accuracy, value: " + f"{accuracy:.4f}"
                   + ", dataset: digits, split: test}\n")
    shape = "[" + ", ".join("null" if d is None else str(d) for d in outputs_shape) + "]"
    return textwrap.dedent(f"""\
        ---
        license: mit
        task: {task}
        tags: [{", ".join(tags)}]
        datasets: [digits]
        framework_version: "0.1.0"
        inputs:
          - {{name: image, shape: [null, 64], dtype: float32}}
        outputs:
          - {{name: logits, shape: {shape}, dtype: float32}}
        """) + metrics + extra + "---\n# Digits linear\n\nA linear classifier of the bundled " \
        "digits, fitted by least squares.\n\n| split | accuracy |\n|---|---|\n| test | ok |\n"


def write_program(folder: Path, **card) -> Path:
    """A model folder: README.md and the fw.jit.save program (graph.json, weights)."""
    folder.mkdir(parents=True, exist_ok=True)
    fw.jit.save(linear_model(), str(folder / "program"), [fw.jit.InputSpec([None, 64])])
    for name in ("graph.json", "weights.safetensors"):
        (folder / "program" / name).rename(folder / name)
    (folder / "program").rmdir()
    (folder / "README.md").write_text(card_text(**card), encoding="utf-8")
    return folder


MODULE_SOURCE = """\
import framework as fw


def build_model():
    return fw.nn.Linear(64, 10)
"""


def write_module(folder: Path, source: str = MODULE_SOURCE, **card) -> Path:
    """A model folder: README.md, model.py and model.safetensors (the state dict)."""
    folder.mkdir(parents=True, exist_ok=True)
    fw.save(linear_model().state_dict(), str(folder / "model.safetensors"))
    (folder / "model.py").write_text(source, encoding="utf-8")
    (folder / "README.md").write_text(card_text(**card), encoding="utf-8")
    return folder


@pytest.fixture
def app_config(request):
    """Jobs run at once (validation finishes inside the push); tests add their own settings
    with ``@pytest.mark.parametrize("app_config", [{...}], indirect=True)``."""
    return {"JOBS_IMMEDIATE": True, **getattr(request, "param", {})}


@pytest.fixture
def accuracy() -> float:
    return digits_linear()[2]


@pytest.fixture
def make_token(app):
    """``make_token(user, scopes="read write")`` -> a bearer secret."""
    from hub import db as hub_db
    from hub.api import tokens

    def make(user, scopes: str = "read write") -> str:
        with app.app_context():
            new = tokens.create_token(user, "tests", scopes.split())
            hub_db.session().commit()
            return new.secret

    return make


def api_push(client, token: str, repo: str, folder: Path, message: str = "first",
             **extra) -> object:
    """Push ``folder`` through the API the way ``skiff model push`` does; the commit's
    response (or the first failed upload's)."""
    headers = {"Authorization": f"Bearer {token}"}
    staged = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        response = client.post(f"/api/v1/models/{repo}/files", query_string={"path": rel},
                               data=path.read_bytes(), headers=headers,
                               content_type="application/octet-stream")
        if response.status_code != 201:
            return response
        body = response.get_json()
        staged.append({k: body[k] for k in ("path", "digest", "receipt")})
    return client.post(f"/api/v1/models/{repo}/versions", headers=headers,
                       json={"message": message, "files": staged, **extra})
