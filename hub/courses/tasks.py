"""Background jobs of the courses feature: checking a learner's exercise answer."""

from __future__ import annotations

from hub import db
from hub.courses import services
from hub.courses.checking import CheckOutcome, run_check
from hub.courses.models import ExerciseResult
from hub.infra import jobs
from hub.infra.sandbox import SandboxUnavailable


@jobs.task(services.CHECK_JOB)
def check_exercise(job_id: int, payload: dict) -> dict:
    """Run one answer with the exercise's checks in the sandbox and store the outcome."""
    result_id, attempt = int(payload["result_id"]), int(payload["attempt"])
    row = db.session().get(ExerciseResult, result_id)
    if row is None:
        raise jobs.JobError("The answer no longer exists.")
    code, checks = row.code, row.exercise.checks
    db.session().rollback()  # hold no transaction while the sandbox runs
    jobs.progress(job_id, 10, jobs.N_("Checking"))
    try:
        outcome = run_check(code, checks)
    except SandboxUnavailable as exc:
        services.record_check(result_id, attempt, CheckOutcome("error", "unavailable"))
        raise jobs.JobError(f"No sandbox: {exc}") from None
    services.record_check(result_id, attempt, outcome)
    return {"status": outcome.status}
