"""Re-train bundled models and check that their cards still tell the truth.

    .venv/bin/python contrib/models/reproduce.py [FOLDER ...]     # default: every model

Each folder's ``train.py`` runs on a copy of the folder (the bundled files are not touched);
every metric the card claims is then compared with the fresh ``metrics.json``. Tolerances:
0.01 absolute for accuracy, 0.02 nats for a loss (0.03 bits per character), a factor of 1.5
for errors of the physics-informed model, else 1.5 % relative. Exits 1 when a metric is off.
``make reproduce-models`` runs it; it trains for several minutes, so it is not part of the
test suite (the suite re-trains only the MLP).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def within(name: str, fresh: float, claimed: float) -> bool:
    """Whether a re-trained model's metric reproduces the card's claim."""
    if name == "accuracy":
        return abs(fresh - claimed) <= 0.01
    if name.endswith("_error"):
        return fresh <= claimed * 1.5
    if name == "loss":
        return abs(fresh - claimed) <= 0.02
    if name == "bits_per_character":
        return abs(fresh - claimed) <= 0.03
    return abs(fresh - claimed) <= 0.015 * abs(claimed)


def claims(folder: Path) -> list[dict]:
    text = (folder / "README.md").read_text(encoding="utf-8")
    return yaml.safe_load(text.split("---", 2)[1]).get("metrics", [])


def reproduce(folder: Path) -> bool:
    """Re-train ``folder``'s model on a copy; print and return whether every claim holds."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / folder.name
        shutil.copytree(folder, copy, ignore=shutil.ignore_patterns(
            "__pycache__", "program", "*.safetensors", "metrics.json"))
        start = time.perf_counter()
        done = subprocess.run([sys.executable, str(copy / "train.py")], cwd=ROOT,
                              capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            print(f"{folder.name}: train.py failed\n{done.stderr[-2000:]}")
            return False
        fresh = json.loads((copy / "metrics.json").read_text())
    ok = True
    for claim in claims(folder):
        value = fresh[claim["split"]][claim["name"]]
        good = within(claim["name"], value, claim["value"])
        ok = ok and good
        print(f"{folder.name}: {claim['name']} ({claim['split']}) card {claim['value']:.6g}, "
              f"re-trained {value:.6g} — {'ok' if good else 'OFF'} [{seconds:.0f} s]")
    return ok


def main(argv: list[str]) -> int:
    folders = [HERE / name for name in argv] or sorted(
        p for p in HERE.iterdir() if (p / "train.py").is_file())
    results = [reproduce(folder) for folder in folders]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
