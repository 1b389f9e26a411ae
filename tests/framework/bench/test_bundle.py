"""The benchmark suite writes bundles that validate; tampering and inconsistency are caught."""

import io
import json
import tarfile

import pytest

from framework import bench
from framework.bench import BundleError, verify_bundle
from framework.bench.__main__ import main as bench_main

SUBSET = ["gemm-128", "train-mlp", "infer-latency-mlp", "infer-throughput-mlp"]


@pytest.fixture(scope="module")
def numpy_bundle(tmp_path_factory):
    out = tmp_path_factory.mktemp("b") / "numpy"
    bench.run("numpy", str(out), quick=True, only=SUBSET, archive=True)
    return out


def _copy(src, dst):
    dst.mkdir()
    for f in src.iterdir():
        (dst / f.name).write_bytes(f.read_bytes())
    return dst


def test_quick_bundle_validates_and_holds_the_documented_files(numpy_bundle):
    b = verify_bundle(numpy_bundle)
    assert sorted(p.name for p in numpy_bundle.iterdir()) == sorted(bench.bundle.FILES)
    assert b.suite_version == bench.SUITE_VERSION and b.backend == "numpy"
    assert b.results["seeds"] == bench.SEEDS and b.results["mode"] == "quick"
    assert [x["id"] for x in b.results["benchmarks"]] == SUBSET
    gemm = b.benchmark("gemm-128")
    assert gemm["metric"]["unit"] == "GFLOP/s" and gemm["metric"]["value"] > 0
    assert gemm["correctness"]["kind"] == "outputs" and gemm["correctness"]["shape"] == [128, 128]
    train = b.benchmark("train-mlp")
    assert train["correctness"]["kind"] == "loss"
    assert len(train["correctness"]["losses"]) == bench.LOSS_STEPS
    lat = b.benchmark("infer-latency-mlp")
    assert lat["metric"]["unit"] == "ms" and lat["metric"]["higher_is_better"] is False
    assert set(lat["secondary"]) == {"p50_ms", "p99_ms"}
    for x in b.results["benchmarks"]:
        s = x["stats"]
        assert s["iterations"] >= s["min_iterations"] and s["duration_s"] >= s["min_duration_s"]
    assert bench.protocol_problems(b.results) == []
    measured = [e for e in b.log if e["phase"] == "measure"]
    assert len(measured) == sum(x["stats"]["iterations"] for x in b.results["benchmarks"])
    det = b.system["detected"]
    assert det["cpu_logical_cores"] >= 1 and det["numpy"] and det["backend"]["name"] == "numpy"
    assert isinstance(det["blas"], list)


def test_archive_verifies_the_same(numpy_bundle):
    archive = numpy_bundle.with_name(numpy_bundle.name + ".tar.gz")
    a = verify_bundle(archive)
    assert a.results == verify_bundle(numpy_bundle).results
    upload = archive.read_bytes()
    assert bench.verify_archive(upload).results == a.results  # in memory, as the hub gets it
    with open(archive, "rb") as f:
        assert bench.verify_archive(f).manifest == a.manifest
    with pytest.raises(BundleError, match="the upload is not a readable"):
        bench.verify_archive(upload[: len(upload) // 2])


def test_runs_are_deterministic_in_their_evidence(numpy_bundle, tmp_path):
    again = bench.run("numpy", str(tmp_path / "again"), quick=True, only=["gemm-128", "train-mlp"])
    first = verify_bundle(numpy_bundle)
    for bench_id in ("gemm-128", "train-mlp"):
        ok, why = bench.check_evidence(again.benchmark(bench_id)["correctness"],
                                       first.benchmark(bench_id)["correctness"])
        assert ok, why
    assert again.benchmark("gemm-128")["correctness"]["sha256"] == \
        first.benchmark("gemm-128")["correctness"]["sha256"]


def test_tampered_file_breaks_the_manifest_check(numpy_bundle, tmp_path):
    bad = _copy(numpy_bundle, tmp_path / "bad")
    results = json.loads((bad / "results.json").read_text())
    results["benchmarks"][0]["metric"]["value"] *= 10
    (bad / "results.json").write_text(json.dumps(results))
    with pytest.raises(BundleError, match="results.json does not match its SHA-256"):
        verify_bundle(bad)


def _rehash(d):
    man = json.loads((d / "manifest.json").read_text())
    import hashlib

    for name in ("system.json", "results.json", "log.jsonl"):
        data = (d / name).read_bytes()
        man["files"][name] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    (d / "manifest.json").write_text(json.dumps(man))


def test_schema_and_consistency_errors_name_the_problem(numpy_bundle, tmp_path):
    d = _copy(numpy_bundle, tmp_path / "schema")
    sysdoc = json.loads((d / "system.json").read_text())
    sysdoc["status"] = "rumoured"
    (d / "system.json").write_text(json.dumps(sysdoc))
    _rehash(d)
    with pytest.raises(BundleError, match="system.json: status"):
        verify_bundle(d)

    d = _copy(numpy_bundle, tmp_path / "iters")
    res = json.loads((d / "results.json").read_text())
    res["benchmarks"][0]["stats"]["iterations"] += 5
    (d / "results.json").write_text(json.dumps(res))
    _rehash(d)
    with pytest.raises(BundleError, match="claims .* iterations, log.jsonl has"):
        verify_bundle(d)

    d = _copy(numpy_bundle, tmp_path / "nan")
    (d / "results.json").write_text((d / "results.json").read_text().replace(
        '"sum":', '"sum": NaN, "x":', 1))
    _rehash(d)
    with pytest.raises(BundleError, match="NaN is not valid JSON"):
        verify_bundle(d)


def test_extra_missing_and_hostile_archive_entries_are_refused(numpy_bundle, tmp_path):
    d = _copy(numpy_bundle, tmp_path / "extra")
    (d / "notes.txt").write_text("hi")
    with pytest.raises(BundleError, match="unexpected entry 'notes.txt'"):
        verify_bundle(d)
    (d / "notes.txt").unlink()
    (d / "log.jsonl").unlink()
    with pytest.raises(BundleError, match="lacks log.jsonl"):
        verify_bundle(d)
    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(evil, "w:gz") as tar:
        info = tarfile.TarInfo("../../etc/passwd")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    with pytest.raises(BundleError, match="unexpected entry"):
        verify_bundle(evil)
    (tmp_path / "junk.tar.gz").write_bytes(b"not a tarball")
    with pytest.raises(BundleError, match="not a readable .tar.gz"):
        verify_bundle(tmp_path / "junk.tar.gz")
    with pytest.raises(BundleError, match="no bundle at"):
        verify_bundle(tmp_path / "nothing-here")


def test_protocol_problems_flag_short_measurements(numpy_bundle):
    res = json.loads((numpy_bundle / "results.json").read_text())
    res["benchmarks"][0]["stats"]["iterations"] = 1
    res["benchmarks"][1]["stats"]["duration_s"] = 0.001
    problems = bench.protocol_problems(res)
    assert len(problems) == 2 and "iterations < minimum" in problems[0]
    assert "train-mlp: ran 0.001 s" in problems[1]
    res = json.loads((numpy_bundle / "results.json").read_text())
    res["protocol"]["min_duration_s"] = 0.0  # a run that lowered its own bar
    res["benchmarks"][0]["stats"]["min_duration_s"] = 0.0
    problems = bench.protocol_problems(res)
    assert "not the suite's quick protocol" in problems[0]
    assert "gemm-128: min_duration_s 0.0 is not the suite's 0.1" in problems[1]


def test_evidence_check_catches_wrong_losses_and_outputs(numpy_bundle):
    b = verify_bundle(numpy_bundle)
    loss = dict(b.benchmark("train-mlp")["correctness"])
    wrong = dict(loss, losses=[v * 1.05 for v in loss["losses"]])
    ok, why = bench.check_evidence(wrong, loss)
    assert not ok and "loss at step 1" in why
    out = dict(b.benchmark("gemm-128")["correctness"])
    nudged = dict(out, sha256="0" * 64, sample=[v + 1e-6 for v in out["sample"]])
    assert bench.check_evidence(nudged, out)[0]
    broken = dict(nudged, sample=[v * 2 + 1 for v in out["sample"]])
    ok, why = bench.check_evidence(broken, out)
    assert not ok and "output element" in why


def test_vendor_yaml_fields_and_errors(tmp_path):
    from framework.bench.system import SystemDescriptionError, load_vendor_yaml

    y = tmp_path / "sys.yaml"
    y.write_text("submitter: Example Chips\nsystem_name: Box 8\naccelerators_per_node: 8\n"
                 "accelerator_model_name: X1\nstatus: preview\n")
    b = bench.run("numpy", str(tmp_path / "vendor"), quick=True, only=["gemm-128"],
                  system_yaml=str(y))
    assert b.system["submitter"] == "Example Chips" and b.system["status"] == "preview"
    assert b.system["accelerators_per_node"] == 8
    y.write_text("submiter: typo\n")
    with pytest.raises(SystemDescriptionError, match="unknown field 'submiter'"):
        load_vendor_yaml(str(y))
    y.write_text("status: rumoured\n")
    with pytest.raises(SystemDescriptionError, match="status must be one of"):
        load_vendor_yaml(str(y))
    y.write_text("accelerators_per_node: many\n")
    with pytest.raises(SystemDescriptionError, match="non-negative integer"):
        load_vendor_yaml(str(y))


def test_cli_run_verify_and_errors(tmp_path, capsys):
    out = tmp_path / "cli"
    assert bench_main(["run", "--backend", "numexpr", "--out", str(out), "--quick",
                       "--only", "gemm-128"]) == 0
    assert "wrote" in capsys.readouterr().out
    assert bench_main(["verify", str(out)]) == 0
    assert "valid bundle" in capsys.readouterr().out
    assert bench_main(["run", "--out", str(tmp_path / "x"), "--quick", "--only", "nope"]) == 1
    assert "unknown benchmark(s): nope" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()  # nothing half-written
    assert bench_main(["run", "--backend", "warp-drive", "--out", str(tmp_path / "y")]) == 1
    assert "unknown backend" in capsys.readouterr().err
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "thesis.tex").write_text("precious")
    assert bench_main(["run", "--out", str(busy), "--quick", "--only", "gemm-128"]) == 1
    assert "not a bundle directory" in capsys.readouterr().err
    assert (busy / "thesis.tex").read_text() == "precious"
    # an earlier bundle is replaced
    assert bench_main(["run", "--out", str(out), "--quick", "--only", "train-mlp"]) == 0
    assert [b["id"] for b in verify_bundle(out).results["benchmarks"]] == ["train-mlp"]


def test_reference_evidence_without_timing_matches_a_bundle(numpy_bundle):
    b = verify_bundle(numpy_bundle)
    ref = bench.evidence_for("numpy", SUBSET)
    checks = bench.check_results_correctness(b.results, ref)
    assert set(checks) == set(SUBSET) and all(ok for ok, _ in checks.values()), checks
    assert set(bench.all_benchmark_ids()) >= set(SUBSET) | {"gemm-2048", "train-transformer"}
    res = json.loads(json.dumps(b.results))
    res["benchmarks"][1]["correctness"]["losses"][2] += 0.5
    checks = bench.check_results_correctness(res, b.results)
    assert checks["train-mlp"] == (False, checks["train-mlp"][1])
    assert "step 3" in checks["train-mlp"][1]
    with pytest.raises(ValueError, match="unknown benchmark"):
        bench.evidence_for("numpy", ["gemm-3"])
