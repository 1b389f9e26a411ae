"""Running a notebook in the sandbox with the hub's own Python kernel.

The run happens in a bubblewrap sandbox (``hub.infra.sandbox``): no network, a read-only
system with the hub's virtualenv (so ``import framework`` works), a memory limit per process, a
per-cell timeout (nbclient) and a wall-clock limit for the whole run. A runner script inside the
sandbox executes the cells with nbclient and ipykernel's ``python3`` kernel and writes the
executed notebook and a report; the hub reads both back with ``read_job_file``. Whatever the
notebook does, the worker only sees a run that passed, failed at a cell, timed out or could not
run.

Settings (app config): ``NOTEBOOK_CELL_TIMEOUT`` (seconds per cell, default 120),
``NOTEBOOK_RUN_SECONDS`` (the whole run, default 600), ``NOTEBOOK_RUN_MEMORY`` (bytes of
address space per process, default 3 GiB).
"""

from __future__ import annotations

import json
from typing import Any

from flask import current_app

from hub import db
from hub.db import utcnow
from hub.infra import jobs
from hub.notebooks.models import NotebookRun

_RUNNER = r"""
import json, time, traceback
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

settings = json.load(open("run.json"))
report = {"status": "passed", "failed_cell": None, "error": "", "framework_version": ""}
try:
    import framework
    report["framework_version"] = str(getattr(framework, "__version__", ""))
except Exception as exc:
    report["framework_version"] = ""
nb = nbformat.read("notebook.ipynb", as_version=4)
current = {"index": None}

def before_cell(cell, cell_index, **_):
    current["index"] = cell_index

client = NotebookClient(nb, kernel_name="python3", timeout=settings["cell_timeout"],
                        startup_timeout=60, allow_errors=False, record_timing=False,
                        on_cell_execute=before_cell)
start = time.monotonic()
try:
    client.execute()
except CellTimeoutError:
    report["status"] = "timed_out"
    report["error"] = "The cell ran longer than %s s." % settings["cell_timeout"]
except CellExecutionError as exc:
    report["status"] = "failed"
    ename = getattr(exc, "ename", "") or "Error"
    evalue = getattr(exc, "evalue", "") or ""
    report["error"] = ("%s: %s" % (ename, evalue))[:2000]
except DeadKernelError:
    report["status"] = "failed"
    report["error"] = "The kernel died (it may have run out of memory)."
except Exception as exc:
    report["status"] = "error"
    report["error"] = ("%s: %s" % (type(exc).__name__, exc))[:2000]
if report["status"] != "passed" and current["index"] is not None:
    report["failed_cell"] = current["index"] + 1
report["duration"] = time.monotonic() - start
nbformat.write(nb, "executed.ipynb")
with open("report.json", "w") as fh:
    json.dump(report, fh)
"""


def settings() -> dict[str, Any]:
    config = current_app.config
    return {
        "cell_timeout": int(config.get("NOTEBOOK_CELL_TIMEOUT", 120)),
        "run_seconds": float(config.get("NOTEBOOK_RUN_SECONDS", 600)),
        "memory_bytes": int(config.get("NOTEBOOK_RUN_MEMORY", 3 * 2**30)),
    }


def _finish(run: NotebookRun, status: str, error: str = "", **fields: Any) -> None:
    run.status = status
    run.error = error[:2000]
    run.finished_at = utcnow()
    for name, value in fields.items():
        setattr(run, name, value)
    db.session().commit()


def execute_run(run: NotebookRun, job_id: int) -> dict[str, Any]:
    """Execute ``run``'s version in the sandbox and record the outcome on ``run`` (and, when
    the runner got that far, a new executed version of the notebook)."""
    import nbformat

    from hub.infra.sandbox import (
        Limits,
        SandboxUnavailable,
        kernel_env,
        new_job_dir,
        read_job_file,
        remove_job_dir,
        run_python,
    )
    from hub.infra.storage import get_storage
    from hub.notebooks import services

    version = run.version
    notebook = run.notebook
    owner = notebook.owner
    if version is None:
        _finish(run, "error", "The notebook version no longer exists.")
        raise jobs.JobError("The notebook version no longer exists.")
    config = settings()
    run.status = "running"
    db.session().commit()
    jobs.progress(job_id, 5, jobs.N_("Starting the kernel in the sandbox"))
    job_dir = new_job_dir()
    try:
        (job_dir / "notebook.ipynb").write_bytes(get_storage().read_bytes(version.digest))
        (job_dir / "run.json").write_text(json.dumps({"cell_timeout": config["cell_timeout"]}))
        env = kernel_env()
        # Fewer threads and malloc arenas: each costs address space under the memory limit.
        env.update({"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
                    "MKL_NUM_THREADS": "1", "MALLOC_ARENA_MAX": "2", "MPLBACKEND": "Agg"})
        limits = Limits(memory_bytes=config["memory_bytes"],
                        cpu_seconds=max(1, int(config["run_seconds"])),
                        wall_seconds=config["run_seconds"], processes=64,
                        output_bytes=64 * 1024)
        try:
            result = run_python(_RUNNER, job_dir, env=env, limits=limits)
        except SandboxUnavailable as err:
            message = f"The sandbox is not available on this hub: {err}"
            _finish(run, "error", message)
            raise jobs.JobError(message) from None
        try:
            report = json.loads(read_job_file(job_dir, "report.json", max_bytes=1 << 20))
        except Exception:
            report = None
        if report is None or not isinstance(report, dict):
            if result.timed_out or result.killed_by in ("wall_clock", "cpu"):
                message = (f"The notebook ran longer than the limit of "
                           f"{config['run_seconds']:g} s and was stopped.")
                _finish(run, "timed_out", message, duration=result.duration)
            else:
                tail = (result.stderr_text.strip().splitlines() or ["no message"])[-1][:500]
                reason = f" ({result.killed_by})" if result.killed_by else ""
                _finish(run, "error", f"The run stopped{reason}: {tail}",
                        duration=result.duration)
            return {"status": run.status}
        status = report.get("status") if report.get("status") in (
            "passed", "failed", "timed_out", "error") else "error"
        jobs.progress(job_id, 90, jobs.N_("Saving the executed notebook"))
        executed = None
        try:
            data = read_job_file(job_dir, "executed.ipynb", max_bytes=services.max_bytes())
            nbformat.validate(nbformat.reads(data.decode("utf-8"), as_version=4))
            executed = services.upload_notebook(
                owner, data, slug=notebook.slug, source_kind="run", run_of=version,
                render=False)
        except Exception as err:  # an executed notebook too large or broken: keep the outcome
            report["error"] = (str(report.get("error") or "") +
                               f" (the executed notebook was not kept: {err})").strip()
        failed_cell = report.get("failed_cell")
        _finish(run, status, str(report.get("error") or ""),
                failed_cell=failed_cell if isinstance(failed_cell, int) else None,
                framework_version=str(report.get("framework_version") or "")[:40],
                duration=float(report.get("duration") or result.duration),
                result_version_id=executed.id if executed is not None else None)
        if executed is not None:
            services.request_render(executed)
        return {"status": status, "result_version_id": run.result_version_id}
    finally:
        remove_job_dir(job_dir)
