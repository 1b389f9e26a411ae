"""Each automatic check passes on a real bundle and fails on a crafted one; refused bundles
store nothing."""

from __future__ import annotations

import io
import tarfile

import pytest
from sqlalchemy import func, select

from hub import db
from tests.hub.leaderboards.conftest import SYSTEM, files_of, submit_file


def _submission(app, public_id):
    from hub.leaderboards.services import find_submission

    with app.app_context():
        sub = find_submission(public_id)
        return sub.status, {c.name: (c.status, c.reason) for c in sub.checks}


def test_a_real_bundle_passes_every_check_and_is_ranked(app, vendor, make_bundle, client):
    public_id = submit_file(app, vendor.user, vendor.system_id, make_bundle())
    assert public_id.startswith("v1.0-")
    status, checks = _submission(app, public_id)
    assert status == "verified", checks
    assert set(checks) == {"integrity", "suite_version", "seeds", "protocol", "correctness",
                           "peak", "outlier", "system"}
    assert all(s == "passed" for s, _ in checks.values())
    assert "match the numpy reference" in checks["correctness"][1]
    page = client.get(f"/leaderboards/results/{public_id}")
    assert page.status_code == 200 and b"Verified" in page.data
    board = client.get("/api/v1/boards/gemm-128").get_json()
    assert [r["id"] for r in board["items"]] == [public_id]
    assert board["items"][0]["rank"] == 1
    # the stable ID counts up per suite version
    second = submit_file(app, vendor.user, vendor.system_id, make_bundle())
    assert int(second.split("-")[1]) == int(public_id.split("-")[1]) + 1


def _edit_seed(system, results, log):
    results["seeds"]["init"] = 1


def _edit_short(system, results, log):
    bench = results["benchmarks"][0]
    bench["stats"]["duration_s"] = bench["stats"]["min_duration_s"] / 10


def _edit_outputs(system, results, log):
    for bench in results["benchmarks"]:
        ev = bench["correctness"]
        if ev["kind"] == "outputs":
            ev["sample"] = [v * 1.5 + 1 for v in ev["sample"]]
            ev["sum"] = ev["sum"] * 1.5 + 3
            ev["abs_sum"] = ev["abs_sum"] * 1.5 + 3
            ev["sha256"] = "0" * 64
        else:
            ev["losses"] = [v + 0.5 for v in ev["losses"]]
            ev["final_loss"] = ev["losses"][-1]


def _edit_impossible(system, results, log):
    for bench in results["benchmarks"]:
        if bench["scenario"] == "gemm":
            bench["metric"]["value"] = 5e6


def _edit_system(system, results, log):
    system["accelerator_model_name"] = "Example X9000"
    system["accelerators_per_node"] = 64


@pytest.mark.parametrize(("edit", "check", "words"), [
    (_edit_seed, "seeds", "init=1"),
    (_edit_short, "protocol", "< minimum"),
    (_edit_outputs, "correctness", "reference"),
    (_edit_impossible, "peak", "exceeds the declared peak"),
    (_edit_system, "system", "accelerator_model_name"),
])
def test_each_check_fails_on_a_crafted_bundle(app, vendor, make_bundle, client, edit, check,
                                              words):
    from hub.leaderboards.models import HardwareSystem

    with app.app_context():
        db.session().get(HardwareSystem, vendor.system_id).peak_gflops = 1000.0
        db.session().commit()
    public_id = submit_file(app, vendor.user, vendor.system_id, make_bundle(edit))
    status, checks = _submission(app, public_id)
    assert status == "failed"
    assert checks[check][0] == "failed" and words in checks[check][1], checks[check]
    others = {n: s for n, (s, _r) in checks.items() if n != check}
    assert set(others.values()) == {"passed"}, others
    assert client.get("/api/v1/boards/gemm-128").get_json()["items"] == []
    # the submitter sees the reason on the result page
    from tests.hub.conftest import sign_in

    sign_in(client, vendor.user)
    page = client.get(f"/leaderboards/results/{public_id}").get_data(as_text=True)
    assert "Failed checks" in page and words.split("<")[0].strip() in page


def _count(app, model):
    with app.app_context():
        return db.session().scalar(select(func.count()).select_from(model))


def test_tampered_file_hash_is_refused_and_nothing_stored(app, vendor, make_bundle):
    from hub.leaderboards.models import Submission
    from hub.leaderboards.services import LeaderboardError

    with pytest.raises(LeaderboardError, match="results.json does not match its SHA-256"):
        submit_file(app, vendor.user, vendor.system_id,
                    make_bundle(_edit_impossible, rehash_manifest=False))
    assert _count(app, Submission) == 0
    blobs = app.config["STORAGE_URL"]
    from pathlib import Path

    assert not Path(blobs).exists() or not any(p.is_file() for p in Path(blobs).rglob("*"))


def _tar(tmp_path, members):
    path = tmp_path / "evil.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def _file(name, data=b"{}"):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def _link(name, target, kind=tarfile.SYMTYPE):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info, None


@pytest.mark.parametrize(("members", "words"), [
    ([_file("/etc/passwd")], "absolute path"),
    ([_file("../system.json")], "leaves the bundle folder"),
    ([_link("system.json", "/etc/passwd")], "link"),
    ([_link("results.json", "system.json", tarfile.LNKTYPE)], "link"),
    ([_file(f"f{i}.json") for i in range(20)], "more than 16 entries"),
    ([_file("a/b/system.json")], "nested"),
])
def test_unsafe_archives_are_refused(app, vendor, tmp_path, members, words):
    from hub.leaderboards.models import Submission
    from hub.leaderboards.services import LeaderboardError

    with pytest.raises(LeaderboardError, match=words):
        submit_file(app, vendor.user, vendor.system_id, _tar(tmp_path, members))
    assert _count(app, Submission) == 0


@pytest.mark.parametrize("app_config", [{"LEADERBOARDS_MAX_UPLOAD": 1000}], indirect=True)
def test_oversized_upload_is_refused(app, vendor, make_bundle):
    from hub.leaderboards.services import LeaderboardError

    with pytest.raises(LeaderboardError) as info:
        submit_file(app, vendor.user, vendor.system_id, make_bundle())
    assert info.value.status == 413 and "larger than the limit" in info.value.message


def test_not_an_archive_and_missing_files(app, vendor, tmp_path, bundle_dir):
    from hub.leaderboards.services import LeaderboardError

    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"this is not gzip")
    with pytest.raises(LeaderboardError, match="not a readable .tar.gz"):
        submit_file(app, vendor.user, vendor.system_id, junk)
    files = files_of(bundle_dir)
    del files["log.jsonl"]
    from tests.hub.leaderboards.conftest import archive

    with pytest.raises(LeaderboardError, match="lacks log.jsonl"):
        submit_file(app, vendor.user, vendor.system_id, archive(files, tmp_path / "x.tar.gz"))


def test_outlier_goes_to_review_not_to_the_board(app, vendor, make_bundle, client):
    from hub.leaderboards.services import find_submission

    app.config["LEADERBOARDS_OUTLIER_MIN_PEERS"] = 3
    for _ in range(3):
        assert _submission(app, submit_file(app, vendor.user, vendor.system_id,
                                            make_bundle()))[0] == "verified"

    def fast(system, results, log):
        for bench in results["benchmarks"]:
            if bench["id"] == "train-mlp":
                bench["metric"]["value"] *= 50

    public_id = submit_file(app, vendor.user, vendor.system_id, make_bundle(fast))
    status, checks = _submission(app, public_id)
    assert status == "needs_review"
    assert checks["outlier"][0] == "needs_review" and "train-mlp" in checks["outlier"][1]
    ranked = client.get("/api/v1/boards/train-mlp").get_json()["items"]
    assert public_id not in [r["id"] for r in ranked]
    pending = client.get("/api/v1/boards/train-mlp?verified=0").get_json()["items"]
    row = next(r for r in pending if r["id"] == public_id)
    assert row["rank"] is None and row["verified"] is False
    with app.app_context():
        assert find_submission(public_id).system.system_name == SYSTEM["system_name"]
