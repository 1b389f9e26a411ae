"""``skiff bench submit`` against a live hub over HTTP, and a person using a board in a
browser."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from hub import db
from hub.cli import main
from tests.hub.leaderboards.conftest import copy_dir, submit_file


def _token(app, user, scopes):
    from hub.accounts.models import User
    from hub.api import tokens

    with app.app_context():
        secret = tokens.create_token(db.session().get(User, user.id), "cli", scopes).secret
        db.session().commit()
    return secret


def test_cli_submission_round_trip(app, live_server, vendor, bundle_dir, tmp_path,
                                   monkeypatch, make_user):
    monkeypatch.setenv("SKIFF_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("SKIFF_TOKEN", _token(app, vendor.user, ["read", "submit"]))
    runner = CliRunner()
    # a bundle directory is verified, archived and uploaded
    done = runner.invoke(main, ["--endpoint", live_server.url, "bench", "submit",
                                str(bundle_dir), "--system", str(vendor.system_id)])
    assert done.exit_code == 0, done.output
    assert "Submitted v1.0-0001 for Testbox 1: verified" in done.output
    assert "correctness: passed" in done.output
    assert f"{live_server.url}/leaderboards/results/v1.0-0001" in done.output
    import requests

    board = requests.get(f"{live_server.url}/api/v1/boards/train-mlp", timeout=10).json()
    assert [r["id"] for r in board["items"]] == ["v1.0-0001"]
    # a tampered bundle is refused locally, before any upload
    bad = copy_dir(bundle_dir, tmp_path / "tampered")
    results = json.loads((bad / "results.json").read_text())
    results["benchmarks"][0]["metric"]["value"] *= 3
    (bad / "results.json").write_text(json.dumps(results))
    refused = runner.invoke(main, ["--endpoint", live_server.url, "bench", "submit", str(bad),
                                   "--system", str(vendor.system_id)])
    assert refused.exit_code != 0 and "SHA-256" in refused.output
    # someone outside the organization is refused by the hub
    monkeypatch.setenv("SKIFF_TOKEN", _token(app, make_user(username="rival"), ["submit"]))
    other = runner.invoke(main, ["--endpoint", live_server.url, "bench", "submit",
                                 str(bundle_dir), "--system", str(vendor.system_id)])
    assert other.exit_code != 0 and "only members" in other.output


def test_cli_bench_run_wraps_the_suite(tmp_path):
    out = tmp_path / "bundle"
    ran = CliRunner().invoke(main, ["bench", "run", "--backend", "numpy", "--quick", "--out",
                                    str(out), "--only", "gemm-128", "--archive"])
    assert ran.exit_code == 0, ran.output
    assert (tmp_path / "bundle.tar.gz").is_file()
    from framework.bench import verify_bundle

    assert [b["id"] for b in verify_bundle(out).results["benchmarks"]] == ["gemm-128"]


@pytest.mark.browser
def test_a_person_filters_a_board_and_opens_a_result(app, live_server, vendor, make_bundle,
                                                      browser_page):
    from hub.leaderboards.models import HardwareSystem
    from tests.hub.leaderboards.conftest import SYSTEM

    first = submit_file(app, vendor.user, vendor.system_id, make_bundle())
    with app.app_context():
        other = HardwareSystem(organization_id=vendor.org_id, **{
            **SYSTEM, "system_name": "Labbox", "status": "research"})
        db.session().add(other)
        db.session().commit()
        other_id = other.id

    def research(system, results, log):
        system["system_name"] = "Labbox"
        system["status"] = "research"

    second = submit_file(app, vendor.user, other_id, make_bundle(research))
    page = browser_page
    errors = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto(f"{live_server.url}/leaderboards")
    page.get_by_role("link", name="gemm-128").click()
    table = page.get_by_test_id("board-table")
    assert table.get_by_role("link", name=first).count() == 1
    assert table.get_by_role("link", name=second).count() == 1
    page.locator("#board-chart[data-ready='1']").wait_for()
    page.get_by_label("Availability").select_option("research")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**status=research**")
    assert table.get_by_role("link", name=first).count() == 0
    table.get_by_role("link", name=second).click()
    page.wait_for_url(f"**/leaderboards/results/{second}")
    assert page.get_by_test_id("result-status").inner_text() == "Verified"
    checks = page.get_by_test_id("checks")
    assert checks.locator("tr[data-check='correctness']").inner_text().count("Passed") == 1
    page.get_by_role("link", name="Labbox").click()
    page.locator("#history-chart[data-ready='1']").wait_for()
    assert page.get_by_test_id("history").get_by_role("link", name=second).count() == 1
    assert errors == []
