"""``make run``'s seed: real results of the reference backend and the numexpr plug-in,
submitted through the vendor path, once."""

from __future__ import annotations

import pytest

from hub import db


@pytest.mark.slow
def test_seed_submits_real_results_for_both_backends_once(app, client):
    from sqlalchemy import func, select

    from hub.leaderboards import seed
    from hub.leaderboards.models import Submission

    messages = []
    with app.app_context():
        seed(app, echo=messages.append)
        seed(app, echo=messages.append)  # a second run finds the results and does nothing
        subs = db.session().scalars(select(Submission).order_by(Submission.id)).all()
        assert [(s.backend_name, s.status, s.mode) for s in subs] == [
            ("numpy", "verified", "quick"), ("numexpr", "verified", "quick")]
        assert db.session().scalar(select(func.count()).select_from(Submission)) == 2
    assert sum("submitted" in m for m in messages) == 2
    board = client.get("/api/v1/boards/train-mlp").get_json()["items"]
    assert sorted(r["backend"] for r in board) == ["numexpr", "numpy"]
    compared = client.get("/leaderboards/compare?r=v1.0-0001&r=v1.0-0002")
    assert b"gemm-512" in compared.data
