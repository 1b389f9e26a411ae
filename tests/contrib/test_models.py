"""The models bundled in ``contrib/models``: every folder is a valid model version whose card
tells the truth.

For each folder: the card parses with the hub's rules, the files are what the hub accepts
and small, the saved program and ``model.py`` + ``model.safetensors`` load, agree, and
answer the card's input spec with its output spec, and every metric the card claims is
measured again here (evaluation only) with the folder's own ``train.py``. The hub's sandbox
measurements of the same metrics are also checked to verify the card. Re-training the
fastest model (the MLP, seconds) reproduces its card.
"""

from __future__ import annotations

import importlib.util
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import framework as fw
from hub.zoo import card as cards
from hub.zoo import files as zfiles

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "contrib" / "models"
FOLDERS = sorted(p.name for p in MODELS.iterdir() if (p / "README.md").is_file())

#: How far a re-measured metric may be from the card's (the stored weights are evaluated
#: again, so only floating-point noise separates them): absolute for accuracy, relative
#: for losses and errors.
TOLERANCE = {"accuracy": 1e-3, "loss": 1e-3, "perplexity": 1e-3, "bits_per_character": 1e-3,
             "max_abs_error": 0.05, "rms_error": 0.05}


def _import(folder: Path, name: str):
    """Import ``folder/name.py`` under a unique name (each folder has its own ``model.py``)."""
    saved = sys.modules.pop("model", None)
    sys.path.insert(0, str(folder))
    try:
        spec = importlib.util.spec_from_file_location(f"_contrib_{folder.name}_{name}",
                                                      folder / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop("model", None)
        if saved is not None:
            sys.modules["model"] = saved


def _card(folder: Path) -> dict:
    return cards.parse_card((folder / "README.md").read_text(encoding="utf-8"))


def _sample(spec: dict, rng: np.random.Generator) -> np.ndarray:
    shape = tuple(3 if d is None else d for d in spec["shape"])
    if spec["dtype"].startswith("int"):
        low, high = spec.get("range", [0, 2])
        return rng.integers(low, high, size=shape).astype(spec["dtype"])
    return rng.random(shape).astype(spec["dtype"])


def _close(name: str, measured: float, claimed: float) -> bool:
    limit = TOLERANCE[name]
    if name == "accuracy":
        return abs(measured - claimed) <= limit
    return abs(measured - claimed) <= limit * abs(claimed)


def test_there_are_the_five_kinds_of_model():
    assert len(FOLDERS) >= 5
    tasks = {_card(MODELS / f)["task"] for f in FOLDERS}
    assert {"image-classification", "text-generation", "physics-informed"} <= tasks
    total = sum(p.stat().st_size for p in MODELS.rglob("*") if p.is_file()
                and "__pycache__" not in p.parts)
    assert total < 5 * 1024 * 1024


@pytest.mark.parametrize("name", FOLDERS)
def test_folder_is_a_model_version_the_hub_accepts(name):
    folder = MODELS / name
    card = _card(folder)
    assert card["license"] and card["inputs"] and card["outputs"] and card["metrics"]
    paths = [p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    assert sum(p.stat().st_size for p in paths) < 1024 * 1024
    kinds = {}
    for path in paths:
        rel = path.relative_to(folder).as_posix()
        kinds[rel] = zfiles.classify(rel, path.read_bytes()[:16])
        if kinds[rel] == "weights":
            with path.open("rb") as fh:
                zfiles.check_safetensors(rel, fh, path.stat().st_size)
    assert kinds["program/graph.json"] == "program"
    assert kinds["program/weights.safetensors"] == kinds["model.safetensors"] == "weights"
    assert kinds["model.py"] == "module" and "train.py" in kinds


@pytest.mark.parametrize("name", FOLDERS)
def test_program_and_module_answer_the_card_spec_alike(name):
    folder = MODELS / name
    card = _card(folder)
    program = fw.jit.load(str(folder / "program"))
    net = _import(folder, "model").build_model()
    result = net.load_state_dict(fw.load(str(folder / "model.safetensors")))
    assert not result.missing_keys and not result.unexpected_keys
    net.eval()
    rng = np.random.default_rng(0)
    inputs = [fw.from_numpy(_sample(s, rng)) for s in card["inputs"]]
    with fw.no_grad():
        from_program, from_module = program(*inputs), net(*inputs)
    (spec,) = card["outputs"]
    for out in (from_program, from_module):
        assert len(out.shape) == len(spec["shape"])
        assert all(w is None or w == g for w, g in zip(spec["shape"], out.shape, strict=True))
        assert str(out.dtype) == spec["dtype"]
    assert out.shape[0] == 3
    np.testing.assert_allclose(from_program.numpy(), from_module.numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", FOLDERS)
def test_card_metrics_are_measured_again(name):
    folder = MODELS / name
    card = _card(folder)
    train = _import(folder, "train")
    program = fw.jit.load(str(folder / "program"))
    measured = {}
    for metric in card["metrics"]:
        split = metric["split"]
        if split not in measured:
            measured[split] = train.evaluate(program, train=True) if split == "train" \
                else train.evaluate(program)
        value = measured[split][metric["name"]]
        assert _close(metric["name"], value, metric["value"]), (metric, value)
    recorded = json.loads((folder / "metrics.json").read_text())
    for metric in card["metrics"]:
        assert _close(metric["name"], recorded[metric["split"]][metric["name"]], metric["value"])


@pytest.mark.parametrize("name", FOLDERS)
def test_the_hubs_sandbox_measurement_verifies_the_card(name, monkeypatch):
    """What :mod:`hub.zoo.sandbox_check` measures (the hub's own evaluation code, here run
    directly) is within the hub's verification tolerance of every verifiable claim."""
    from hub.zoo import sandbox_check
    from hub.zoo.validation import DEFAULT_TOLERANCE, verifiable_metrics

    folder = MODELS / name
    card = _card(folder)
    claims = verifiable_metrics(card)
    if not claims:
        assert cards.known_dataset(card["metrics"][0]["dataset"]) is None
        return
    program = fw.jit.load(str(folder / "program"))
    for claim in claims:
        job = {"split": claim["split"], "input_shape": card["inputs"][0]["shape"]}
        run = sandbox_check.eval_digits if claim["dataset"] == "digits" else \
            sandbox_check.eval_corpus
        measured = run(program, fw, job)[claim["name"]]
        limit = DEFAULT_TOLERANCE[claim["name"]]
        if claim["name"] != "accuracy":
            limit *= abs(claim["claimed"])
        assert abs(measured - claim["claimed"]) <= limit, (claim, measured)


def test_retraining_the_mlp_reproduces_its_card(tmp_path):
    folder = tmp_path / "digits_mlp"
    shutil.copytree(MODELS / "digits_mlp", folder,
                    ignore=shutil.ignore_patterns("__pycache__", "program", "*.safetensors",
                                                  "metrics.json"))
    done = subprocess.run([sys.executable, str(folder / "train.py")], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    metrics = json.loads((folder / "metrics.json").read_text())
    (claim,) = _card(folder)["metrics"]
    assert abs(metrics["test"]["accuracy"] - claim["value"]) <= 0.01
    program = fw.jit.load(str(folder / "program"))
    assert not math.isnan(float(program(fw.zeros(1, 64)).sum().item()))
