"""Comparing bundles side by side as ratios."""

from framework import bench
from framework.bench.__main__ import main as bench_main

ONLY = ["gemm-128", "train-mlp", "infer-latency-mlp"]


def test_compare_prints_ratios_and_evidence(tmp_path, capsys):
    a = bench.run("numpy", str(tmp_path / "a"), quick=True, only=ONLY)
    b = bench.run("numexpr", str(tmp_path / "b"), quick=True, only=ONLY[:2])
    rows = {r["id"]: r for r in bench.compare_bundles(a, b)}
    assert set(rows) == set(ONLY)
    g = rows["gemm-128"]
    assert abs(g["speedup"] - g["b"] / g["a"]) < 1e-12 and g["evidence"] == "match"
    assert rows["train-mlp"]["evidence"] == "match"
    assert rows["infer-latency-mlp"]["b"] is None and rows["infer-latency-mlp"]["speedup"] is None
    assert bench_main(["compare", str(tmp_path / "a"), str(tmp_path / "b")]) == 0
    text = capsys.readouterr().out
    assert "A: numpy" in text and "B: numexpr" in text
    line = next(x for x in text.splitlines() if x.startswith("gemm-128"))
    assert f"{g['speedup']:.2f}x" in line and "match" in line


def test_latency_ratio_is_oriented_so_above_one_means_b_is_better(tmp_path):
    a = bench.run("numpy", str(tmp_path / "a"), quick=True, only=["infer-latency-mlp"])
    rows = bench.compare_bundles(a, a)
    assert rows[0]["speedup"] == 1.0
    slow = bench.verify_bundle(tmp_path / "a")
    slow.results["benchmarks"][0]["metric"]["value"] *= 2  # B twice as slow
    assert abs(bench.compare_bundles(a, slow)[0]["speedup"] - 0.5) < 1e-12
