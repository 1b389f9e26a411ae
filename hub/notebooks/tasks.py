"""Background jobs of notebooks: render a version to safe HTML, run a version in the sandbox."""

from __future__ import annotations

from typing import Any

from hub import db
from hub.infra import jobs
from hub.notebooks.models import NotebookRun, NotebookVersion


@jobs.task("notebook_render")
def render_version(job_id: int, payload: dict[str, Any]) -> dict[str, Any]:
    """Render one version (or reuse the cached HTML of the same bytes)."""
    from hub.infra.storage import get_storage
    from hub.notebooks.render import RenderError, cached_render, render_notebook, store_render

    # Progress is written in a session of its own: report it before this task's session
    # takes SQLite's write lock.
    jobs.progress(job_id, 10, jobs.N_("Rendering the notebook"))
    session = db.session()
    version = session.get(NotebookVersion, int(payload["version_id"]))
    if version is None:
        raise jobs.JobError("The notebook version no longer exists.")
    render = cached_render(version.digest)
    if render is None:
        digest = version.digest
        session.commit()  # no write lock held while the sandbox renders
        try:
            html = render_notebook(get_storage().read_bytes(digest))
        except RenderError as err:
            version.render_state, version.render_message = "failed", str(err)[:1000]
            session.commit()
            raise jobs.JobError(str(err)) from None
        render = store_render(version.digest, html)
    version.render_state, version.render_message = "done", ""
    session.commit()
    return {"html_digest": render.html_digest}


@jobs.task("notebook_run")
def run_notebook(job_id: int, payload: dict[str, Any]) -> dict[str, Any]:
    """Execute one version in the sandbox; the run row gets the outcome."""
    from hub.notebooks.execution import execute_run

    jobs.progress(job_id, 1, jobs.N_("Preparing the run"))
    run = db.session().get(NotebookRun, int(payload["run_id"]))
    if run is None:
        raise jobs.JobError("The notebook run no longer exists.")
    run.job_id = job_id
    db.session().commit()
    return execute_run(run, job_id)
