"""Review, permissions, withdrawal, cache invalidation, pages, exports and the API."""

from __future__ import annotations

import csv
import io

import pytest

from hub import db
from tests.hub.conftest import sign_in
from tests.hub.leaderboards.conftest import SYSTEM, submit_file


def _needs_review(app, vendor, make_bundle):
    """A submission sent to review: an outlier among three verified peers."""
    app.config["LEADERBOARDS_OUTLIER_MIN_PEERS"] = 3
    for _ in range(3):
        submit_file(app, vendor.user, vendor.system_id, make_bundle())

    def fast(system, results, log):
        for bench in results["benchmarks"]:
            bench["metric"]["value"] *= 100 if bench["metric"]["higher_is_better"] else 0.01

    return submit_file(app, vendor.user, vendor.system_id, make_bundle(fast))


def _status(client, public_id):
    return client.get(f"/api/v1/submissions/{public_id}").get_json()["status"]


def _token(app, user, scopes):
    from hub.api import tokens

    with app.app_context():
        from hub.accounts.models import User

        secret = tokens.create_token(db.session().get(User, user.id), "t", scopes).secret
        db.session().commit()
    return {"Authorization": f"Bearer {secret}"}


def test_review_flow_reject_then_approve_with_audit(app, vendor, make_bundle, client,
                                                    make_user):
    from sqlalchemy import select

    from hub.audit.models import AuditEvent

    rejected = _needs_review(app, vendor, make_bundle)
    assert _status(client, rejected) == "needs_review"
    reviewer = make_user(role="member", username="judge")
    outsider = make_user(role="partner", username="outsider")
    # an ordinary member cannot decide, not even through the API with a write token
    answer = client.post(f"/api/v1/submissions/{rejected}/review",
                         json={"decision": "approve", "reason": "looks fine"},
                         headers=_token(app, outsider, ["write"]))
    assert answer.status_code == 403
    admin = make_user(role="admin", username="boss")
    sign_in(client, admin)
    client.post("/leaderboards/reviewers", data={"username": "judge"})
    sign_in(client, reviewer)
    assert client.get("/leaderboards/review").status_code == 200
    empty = client.post(f"/leaderboards/results/{rejected}/review",
                        data={"decision": "reject", "reason": "  "})
    assert empty.status_code == 302 and _status(client, rejected) == "needs_review"
    client.post(f"/leaderboards/results/{rejected}/review",
                data={"decision": "reject", "reason": "Throughput not reproducible"})
    assert _status(client, rejected) == "rejected"
    # the submitter sees the reason, and can resubmit
    sign_in(client, vendor.user)
    page = client.get(f"/leaderboards/results/{rejected}").get_data(as_text=True)
    assert "Throughput not reproducible" in page and "Submit a corrected bundle" in page
    approved = _needs_review(app, vendor, make_bundle)
    answer = client.post(f"/api/v1/submissions/{approved}/review",
                         json={"decision": "approve", "reason": "Vendor showed the setup"},
                         headers=_token(app, reviewer, ["write"]))
    assert answer.status_code == 200 and answer.get_json()["status"] == "verified"
    board = client.get("/api/v1/boards/train-mlp").get_json()["items"]
    assert board[0]["id"] == approved and board[0]["rank"] == 1
    assert rejected not in [r["id"] for r in board]
    # deciding twice is refused
    again = client.post(f"/api/v1/submissions/{approved}/review",
                        json={"decision": "reject", "reason": "changed my mind"},
                        headers=_token(app, reviewer, ["write"]))
    assert again.status_code == 409
    with app.app_context():
        events = db.session().scalars(select(AuditEvent).where(
            AuditEvent.action == "leaderboards.review").order_by(AuditEvent.id)).all()
        assert [(e.actor_name, e.details["decision"]) for e in events] == [
            ("judge", "reject"), ("judge", "approve")]


def test_only_members_of_the_systems_organization_submit(app, vendor, make_bundle, client,
                                                        make_user):
    outsider = make_user(role="partner", username="rival")
    path = make_bundle()
    with open(path, "rb") as fh:
        answer = client.post(f"/api/v1/systems/{vendor.system_id}/submissions", data=fh.read(),
                             headers=_token(app, outsider, ["submit"]))
    assert answer.status_code == 403
    assert client.get("/api/v1/submissions").get_json()["total"] == 0
    # a member's token without the submit scope is refused too
    with open(path, "rb") as fh:
        answer = client.post(f"/api/v1/systems/{vendor.system_id}/submissions", data=fh.read(),
                             headers=_token(app, vendor.user, ["read", "write"]))
    assert answer.status_code == 403
    # the web form is not there for outsiders
    sign_in(client, outsider)
    with open(path, "rb") as fh:
        page = client.post(f"/leaderboards/systems/{vendor.system_id}/submit",
                           data={"bundle": (fh, "b.tar.gz")})
    assert page.status_code == 404
    # a member's upload through the web form works
    sign_in(client, vendor.user)
    with open(path, "rb") as fh:
        page = client.post(f"/leaderboards/systems/{vendor.system_id}/submit",
                           data={"bundle": (fh, "b.tar.gz")})
    assert page.status_code == 302 and "/leaderboards/results/v1.0-" in page.location
    assert client.get(page.location).status_code == 200


def test_failed_results_are_private_to_the_organization(app, vendor, make_bundle, client,
                                                         make_user):
    def wrong(system, results, log):
        results["seeds"]["data"] = 7

    public_id = submit_file(app, vendor.user, vendor.system_id, make_bundle(wrong))
    assert client.get(f"/leaderboards/results/{public_id}").status_code == 404
    assert client.get(f"/api/v1/submissions/{public_id}").status_code == 404
    sign_in(client, make_user(username="curious"))
    assert client.get(f"/leaderboards/results/{public_id}/bundle.tar.gz").status_code == 404
    sign_in(client, vendor.user)
    assert client.get(f"/leaderboards/results/{public_id}").status_code == 200


def test_registering_systems_ui_and_api(app, vendor, client, make_user):
    member = make_user(role="member", username="plainmember")
    sign_in(client, member)
    assert client.get("/leaderboards/systems/new").status_code == 403
    sign_in(client, vendor.user)
    page = client.post("/leaderboards/systems/new", data={
        "organization": str(vendor.org_id), **{k: str(v) for k, v in SYSTEM.items()},
        "system_name": "Testbox 2", "peak_gflops": "2500"})
    assert page.status_code == 302
    system = client.get(page.location).get_data(as_text=True)
    assert "Testbox 2" in system and "2,500 GFLOP/s" in system
    bad = client.post("/api/v1/systems", json={"organization": "example-chips",
                                               "system_name": "x", "submitter": "y",
                                               "status": "someday"},
                      headers=_token(app, vendor.user, ["write"]))
    assert bad.status_code == 422
    made = client.post("/api/v1/systems", json={
        "organization": "example-chips", **SYSTEM, "system_name": "Testbox 3"},
        headers=_token(app, vendor.user, ["write"]))
    assert made.status_code == 201 and made.get_json()["accelerators_per_node"] == 2
    theirs = client.post("/api/v1/systems", json={
        "organization": "example-chips", **SYSTEM},
        headers=_token(app, make_user(role="partner", username="other"), ["write"]))
    assert theirs.status_code == 403
    changed = client.patch(f"/api/v1/systems/{made.get_json()['id']}",
                           json={"status": "available"},
                           headers=_token(app, vendor.user, ["write"]))
    assert changed.status_code == 200 and changed.get_json()["status"] == "available"
    wrong = client.patch(f"/api/v1/systems/{made.get_json()['id']}",
                         json={"accelerators_per_node": "many"},
                         headers=_token(app, vendor.user, ["write"]))
    assert wrong.status_code == 422 and "accelerators_per_node" in wrong.get_json()[
        "error"]["message"]
    stranger = client.patch(f"/api/v1/systems/{made.get_json()['id']}",
                            json={"status": "research"},
                            headers=_token(app, make_user(username="nosy"), ["write"]))
    assert stranger.status_code == 404
    assert client.get("/api/v1/systems").get_json()["total"] == 3
    found = client.get("/search?q=Testbox").get_data(as_text=True)
    assert "Testbox 2" in found and "Testbox 3" in found


def test_board_cache_is_invalidated_by_verify_status_and_withdraw(app, vendor, make_bundle,
                                                                  client):
    from hub.leaderboards import services

    first = submit_file(app, vendor.user, vendor.system_id, make_bundle())
    assert [r["id"] for r in client.get("/api/v1/boards/gemm-128").get_json()["items"]] == [
        first]
    computed = app.extensions["lb_board_cache"].computed
    for _ in range(3):  # served from the cache: the query does not run again
        client.get("/api/v1/boards/gemm-128")
        client.get("/leaderboards/boards/gemm-128")
    assert app.extensions["lb_board_cache"].computed == computed + 1  # the page's backends
    # a new verified result invalidates
    second = submit_file(app, vendor.user, vendor.system_id, make_bundle())
    ids = [r["id"] for r in client.get("/api/v1/boards/gemm-128").get_json()["items"]]
    assert sorted(ids) == sorted([first, second])
    # withdrawing invalidates
    answer = client.post(f"/api/v1/submissions/{first}/withdraw",
                         headers=_token(app, vendor.user, ["submit"]))
    assert answer.status_code == 200 and answer.get_json()["status"] == "withdrawn"
    assert [r["id"] for r in client.get("/api/v1/boards/gemm-128").get_json()["items"]] == [
        second]
    # a status change made directly through the service invalidates too
    with app.app_context():
        sub = services.find_submission(second)
        services.set_status(sub, "rejected")
        db.session().commit()
    assert client.get("/api/v1/boards/gemm-128").get_json()["items"] == []


def test_board_filters_sorting_exports_and_compare(app, vendor, make_bundle, client):
    from hub.leaderboards.models import HardwareSystem

    a = submit_file(app, vendor.user, vendor.system_id, make_bundle())

    def renamed(system, results, log):
        system["system_name"] = "Testbox 2"
        system["status"] = "research"
        for bench in results["benchmarks"]:
            if bench["id"] == "gemm-128":
                bench["metric"]["value"] *= 2

    with app.app_context():
        session = db.session()
        other = HardwareSystem(organization_id=vendor.org_id, **{
            **SYSTEM, "system_name": "Testbox 2", "status": "research"})
        session.add(other)
        session.commit()
        other_id = other.id
    b = submit_file(app, vendor.user, other_id, make_bundle(renamed))
    items = client.get("/api/v1/boards/gemm-128").get_json()["items"]
    assert [r["id"] for r in items] == [b, a] and [r["rank"] for r in items] == [1, 2]
    asc = client.get("/api/v1/boards/gemm-128?order=asc").get_json()["items"]
    assert [r["id"] for r in asc] == [a, b]
    research = client.get("/api/v1/boards/gemm-128?status=research").get_json()["items"]
    assert [r["id"] for r in research] == [b]
    assert client.get("/api/v1/boards/gemm-128?backend=numexpr").get_json()["items"] == []
    assert len(client.get("/api/v1/boards/gemm-128?submitter=example&accelerator=x1")
               .get_json()["items"]) == 2
    by_system = client.get("/api/v1/boards/gemm-128?sort=system&order=desc").get_json()
    assert [r["system"] for r in by_system["items"]] == ["Testbox 2", "Testbox 1"]
    rows = list(csv.DictReader(io.StringIO(client.get(
        "/leaderboards/boards/gemm-128.csv?status=research").get_data(as_text=True))))
    assert [r["id"] for r in rows] == [b] and rows[0]["unit"] == "GFLOP/s"
    exported = client.get("/leaderboards/boards/gemm-128.json").get_json()
    assert [r["id"] for r in exported["results"]] == [b, a]
    page = client.get("/leaderboards/boards/gemm-128?status=research").get_data(as_text=True)
    assert b in page and a not in page
    compared = client.get(f"/leaderboards/compare?r={a}&r={b}").get_data(as_text=True)
    assert "2.00×" in compared
    history = client.get(f"/api/v1/systems/{vendor.system_id}").get_json()["history"]
    assert [h["id"] for h in history] == [a]
    assert client.get("/leaderboards/boards/no-such-board").status_code == 404
    assert client.get("/leaderboards").status_code == 200
    log = client.get(f"/leaderboards/results/{a}/log.jsonl")
    assert log.status_code == 200 and b'"phase": "measure"' in log.data


@pytest.mark.parametrize("value", ["=HYPERLINK(1)", "+1", "@x"])
def test_csv_export_neutralizes_formulas(value):
    from hub.leaderboards.services import board_csv

    text = board_csv([{"id": "v1.0-0001", "submitter": value}])
    assert f"'{value}" in text


@pytest.mark.parametrize("app_config", [{"LEADERBOARDS_GENERATION_TTL": 0}], indirect=True)
def test_a_change_committed_by_another_process_reaches_the_cache(app, vendor, make_bundle,
                                                                   client):
    from sqlalchemy import create_engine, text

    first = submit_file(app, vendor.user, vendor.system_id, make_bundle())
    client.get("/api/v1/boards/gemm-128")
    cache = app.extensions["lb_board_cache"]
    computed = cache.computed
    client.get("/api/v1/boards/gemm-128")
    assert cache.computed == computed
    # another process (a job worker elsewhere) withdraws the result: only the database says so
    engine = create_engine(app.config["DATABASE_URL"])
    with engine.begin() as conn:
        conn.execute(text("UPDATE lb_submissions SET status = 'withdrawn'"))
        conn.execute(text("UPDATE lb_results SET visible = false"))
        conn.execute(text("UPDATE lb_board_generation SET generation = generation + 1"))
    engine.dispose()
    assert client.get("/api/v1/boards/gemm-128").get_json()["items"] == []
    assert cache.computed == computed + 1 and first
