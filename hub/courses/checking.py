"""Checking a learner's answer to an exercise in the sandbox.

The learner's code and the exercise's checks run in one sandboxed Python process
(:mod:`hub.infra.sandbox`): a small runner executes the learner's code, then the checks in the
same namespace, and writes ``result.json`` into the job directory. The first failing ``assert``
of the checks gives the learner its message. The result is only ever displayed: the learner's
code runs in that same process and could write anything there, so it is read with
:func:`~hub.infra.sandbox.read_job_file`, validated and cut to size.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _

from hub.infra import sandbox

RUNNER = r'''
import contextlib, io, json, sys, traceback

def _line(exc, filename):
    line = None
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        if frame.f_code.co_filename == filename:
            line = lineno
    return line

def _describe(exc, filename):
    text = f"{type(exc).__name__}: {exc}".strip().rstrip(":")
    line = _line(exc, filename)
    return text, line

def main():
    result = {"status": "passed", "message": "", "line": None, "output": ""}
    with open("/job/answer.py", encoding="utf-8") as fh:
        answer = fh.read()
    with open("/job/checks.py", encoding="utf-8") as fh:
        checks = fh.read()
    out = io.StringIO()
    namespace = {"__name__": "__main__"}
    try:
        code = compile(answer, "<your code>", "exec")
    except SyntaxError as exc:
        result.update(status="error", stage="syntax", message=f"SyntaxError: {exc.msg}",
                      line=exc.lineno)
        code = None
    if code is not None:
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
                exec(code, namespace)
        except MemoryError:
            result.update(status="error", stage="memory", message="MemoryError")
        except BaseException as exc:
            message, line = _describe(exc, "<your code>")
            result.update(status="error", stage="run", message=message, line=line)
    if result["status"] == "passed":
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                exec(compile(checks, "<checks>", "exec"), namespace)
        except AssertionError as exc:
            result.update(status="failed", stage="check", message=str(exc))
        except MemoryError:
            result.update(status="error", stage="memory", message="MemoryError")
        except BaseException as exc:
            message, _ = _describe(exc, "<checks>")
            result.update(status="failed", stage="check_error", message=message)
    result["output"] = out.getvalue()[-4000:]
    with open("/job/result.json", "w", encoding="utf-8") as fh:
        json.dump(result, fh)

main()
'''

#: Default limits of one check; ``COURSES_CHECK_LIMITS`` in the app config overrides fields.
DEFAULT_LIMITS = {"cpu_seconds": 20, "wall_seconds": 30.0, "memory_bytes": 1024 * sandbox.MiB,
                  "processes": 32, "output_bytes": 64 * 1024, "job_dir_bytes": 16 * sandbox.MiB,
                  "tmp_bytes": 64 * sandbox.MiB}
MAX_MESSAGE = 2000
MAX_OUTPUT = 4000


#: Why a check ended as it did: ``passed``; ``check`` (an assert failed), ``check_error`` (a
#: check raised); ``syntax``, ``run`` (the learner's code raised), ``memory``, ``timeout``,
#: ``output`` (wrote too much), ``killed``, ``no_report``, ``unavailable`` (no sandbox).
REASONS = ("passed", "check", "check_error", "syntax", "run", "memory", "timeout", "output",
           "killed", "no_report", "unavailable")


@dataclass
class CheckOutcome:
    """How a check went: ``status`` is ``passed``, ``failed`` or ``error``; ``reason`` one of
    :data:`REASONS`; ``message`` the raw check message or error; ``line`` where in the
    learner's code; ``output`` what their code printed."""

    status: str
    reason: str
    message: str = ""
    line: int | None = None
    output: str = ""


def describe(status: str, reason: str, message: str = "", line: int | None = None) -> str:
    """The sentence a learner reads about an outcome, in the current language."""
    if status == "checking":
        return _("Checking your answer…")
    if reason == "passed":
        return _("Correct! Every check passed.")
    if reason == "check":
        return message or _("Not quite: a check failed.")
    if reason == "check_error":
        return _("A check could not run on your answer: %(error)s", error=message)
    if reason == "syntax":
        return _("Your code has a syntax error on line %(line)s: %(error)s", line=line or "?",
                 error=message)
    if reason == "run":
        if line:
            return _("Your code raised an error on line %(line)s: %(error)s", line=line,
                     error=message)
        return _("Your code raised an error: %(error)s", error=message)
    if reason == "memory":
        return _("Your code used more memory than allowed and was stopped.")
    if reason == "timeout":
        return _("Your code ran too long and was stopped after %(seconds)s seconds. Look for "
                 "a loop that never ends.", seconds=message or "?")
    if reason == "output":
        return _("Your code wrote too much data and was stopped.")
    if reason == "killed":
        return _("Your code was stopped (%(reason)s).", reason=message)
    if reason == "no_report":
        return _("Your code ended the checker before it could report (exit status %(code)s).",
                 code=message)
    if reason == "unavailable":
        return _("The checker is not available on this server right now; try again later.")
    return message


def check_limits() -> sandbox.Limits:
    """The sandbox limits for exercise checks (``COURSES_CHECK_LIMITS`` may change them)."""
    values = dict(DEFAULT_LIMITS)
    values.update(current_app.config.get("COURSES_CHECK_LIMITS") or {})
    return sandbox.Limits(**values)


def run_check(code: str, checks: str, *, limits: sandbox.Limits | None = None) -> CheckOutcome:
    """Run ``code`` and then ``checks`` in one sandboxed process; say how it went.

    Raises :class:`~hub.infra.sandbox.SandboxUnavailable` when no sandbox can be made.
    """
    limits = limits or check_limits()
    job = sandbox.new_job_dir()
    try:
        (job / "answer.py").write_text(code, encoding="utf-8")
        (job / "checks.py").write_text(checks, encoding="utf-8")
        (job / "runner.py").write_text(RUNNER, encoding="utf-8")
        result = sandbox.run_python(Path(job / "runner.py"), job, limits=limits)
        return _outcome(job, result, limits)
    finally:
        sandbox.remove_job_dir(job)


def _outcome(job: Path, result: sandbox.SandboxResult, limits: sandbox.Limits) -> CheckOutcome:
    if result.killed_by in ("wall_clock", "cpu"):
        seconds = limits.cpu_seconds if result.killed_by == "cpu" else limits.wall_seconds
        return CheckOutcome("error", "timeout", f"{seconds:g}")
    if result.killed_by in ("disk", "file_size"):
        return CheckOutcome("error", "output")
    try:
        data = json.loads(sandbox.read_job_file(job, "result.json", max_bytes=256 * 1024))
    except (OSError, ValueError):
        data = None
    if not isinstance(data, dict) or data.get("status") not in ("passed", "failed", "error"):
        if result.killed_by:
            return CheckOutcome("error", "killed", str(result.killed_by))
        return CheckOutcome("error", "no_report", str(result.exit_code),
                            output=result.stderr_text[-MAX_OUTPUT:])
    output = str(data.get("output") or "")[-MAX_OUTPUT:]
    message = str(data.get("message") or "")[:MAX_MESSAGE]
    line = data.get("line") if type(data.get("line")) is int else None
    if data["status"] == "passed":
        return CheckOutcome("passed", "passed", output=output)
    stage = data.get("stage")
    if stage in ("memory", "syntax", "run"):
        return CheckOutcome("error", stage, message, line, output)
    if stage == "check_error":
        return CheckOutcome("failed", "check_error", message, output=output)
    return CheckOutcome("failed", "check", message, output=output)
