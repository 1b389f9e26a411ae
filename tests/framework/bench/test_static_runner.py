"""How ``python -m framework.bench.static`` runs its benchmarks: each in a fresh process (so
one benchmark's allocator state cannot change another's figures), optionally with glibc
keeping freed memory. No timing is asserted here, only where and how each benchmark ran."""

import json
import os

import pytest

from framework.bench import static as S

ONE = ["mlp_infer_1"]  # the cheapest benchmark


def test_each_benchmark_runs_in_a_fresh_process_with_the_default_allocator(monkeypatch):
    # a setting the parent happens to have must not leak into the default figures
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "123")
    r = S.run(quick=True, keys=ONE)["mlp_infer_1"]
    assert r["pid"] != os.getpid()
    assert r["allocator"] == {}
    assert r["numpy"] > 0 and r["eager"] > 0 and r["static"] > 0
    assert r["static_vs_numpy"] == pytest.approx(r["static"] / r["numpy"])
    assert r["target"] == "static / numpy <= 1.5"
    assert r["met"] == (r["static_vs_numpy"] <= 1.5)


def test_keep_freed_memory_starts_the_benchmark_process_with_glibc_keeping_memory():
    r = S.run(quick=True, keys=ONE, keep_freed_memory=True)["mlp_infer_1"]
    assert r["pid"] != os.getpid()
    assert r["allocator"] == S.KEEP_FREED_MEMORY


def test_same_process_runs_here_and_refuses_allocator_settings():
    r = S.run(quick=True, keys=ONE, same_process=True)["mlp_infer_1"]
    assert r["pid"] == os.getpid()
    with pytest.raises(ValueError, match="fresh processes"):
        S.run(quick=True, keys=ONE, same_process=True, keep_freed_memory=True)


def test_unknown_benchmark_is_named():
    with pytest.raises(ValueError, match="'mlp_infer_2'.*known"):
        S.run(quick=True, keys=["mlp_infer_2"])


def test_command_line_writes_the_figures_and_names_the_mode(tmp_path, capsys):
    out = tmp_path / "figures.json"
    assert S.main(["--quick", "--only", "mlp_infer_1", "--keep-freed-memory",
                   "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "each benchmark in a fresh process, allocator keeping freed memory" in text
    assert "MLP inference, batch 1" in text
    data = json.loads(out.read_text())
    assert list(data) == ["mlp_infer_1"] and data["mlp_infer_1"]["allocator"]
    with pytest.raises(SystemExit):
        S.main(["--same-process", "--keep-freed-memory"])


def test_child_mode_needs_a_file_for_its_figures():
    with pytest.raises(SystemExit):
        S.main(["--one", "mlp_infer_1"])
