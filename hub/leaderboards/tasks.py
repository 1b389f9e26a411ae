"""Background jobs of the leaderboards: check a submission, compute the reference evidence."""

from __future__ import annotations

from typing import Any

from hub.infra import jobs


@jobs.task("leaderboards.check")
def check_submission(job_id: int, payload: dict[str, Any]) -> dict[str, Any]:
    """Run the automatic checks of one submission (computing the reference evidence for its
    suite version first if the hub has none yet)."""
    from hub.leaderboards.services import run_checks

    jobs.progress(job_id, 10, jobs.N_("Checking the result bundle"))
    submission = run_checks(int(payload["submission_id"]))
    if submission is None:
        raise jobs.JobError("The submission no longer exists.")
    return {"submission": submission.public_id, "status": submission.status}


@jobs.task("leaderboards.reference")
def compute_reference(job_id: int, payload: dict[str, Any]) -> dict[str, Any]:
    """Compute and store the reference backend's evidence for a suite version."""
    from hub.leaderboards.services import reference_evidence

    jobs.progress(job_id, 10, jobs.N_("Running the reference backend"))
    evidence = reference_evidence(str(payload["suite_version"]))
    if evidence is None:
        raise jobs.JobError("This hub cannot compute the reference for that suite version.")
    return {"benchmarks": len(evidence)}
