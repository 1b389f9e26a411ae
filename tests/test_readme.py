"""The README's commands and code stay true: its framework example runs as written."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_leads_with_the_two_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    first = text.index("make run")
    assert first < text.index("## A short tour") and "make test" in text[:first + 400]


def test_framework_example_runs(tmp_path):
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "digits.safetensors").stat().st_size > 10_000
