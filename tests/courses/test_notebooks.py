"""The bundled courses work: every notebook runs top to bottom with the project's ``python3``
kernel, ``course.yaml`` is valid for the hub, and every exercise's solution passes its own
check while its starter code does not."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from hub.courses.spec import load_course_folder

COURSES = Path(__file__).resolve().parents[2] / "courses"
NOTEBOOKS = sorted(COURSES.glob("*/*.ipynb"))
#: Per cell: lessons aim for seconds; the limit only stops a hung kernel.
CELL_TIMEOUT_S = 240
#: One exercise (solution or starter plus its check) in a fresh interpreter.
EXERCISE_TIMEOUT_S = 120
#: The suite runs one pytest worker per core; a kernel whose BLAS also starts a thread per
#: core oversubscribes them, and small matrix products then get many times slower.
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _course_folders() -> list[Path]:
    return sorted(p.parent for p in COURSES.glob("*/course.yaml"))


def _exercises() -> list:
    params = []
    for folder in _course_folders():
        spec = load_course_folder(folder)
        for lesson in spec.lessons:
            for exercise in lesson.exercises:
                params.append(pytest.param(exercise,
                                           id=f"{spec.slug}/{lesson.slug}/{exercise.key}"))
    return params


def _notebook_id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


@pytest.mark.parametrize("folder", _course_folders(), ids=lambda p: p.name)
def test_course_yaml_is_valid_and_complete(folder):
    spec = load_course_folder(folder)  # raises CourseFormatError listing every problem
    assert spec.title_zh and spec.summary and spec.summary_zh
    assert len(spec.lessons) >= 8
    for lesson in spec.lessons:
        assert lesson.title_zh, f"{lesson.slug} has no Chinese title"
        assert lesson.kind == "notebook"
        assert lesson.exercises, f"{lesson.slug} has no exercise"
        for exercise in lesson.exercises:
            assert exercise.starter and exercise.hint and exercise.solution, exercise.key
    listed = {lesson.notebook_file for lesson in spec.lessons}
    on_disk = {p.name for p in folder.glob("*.ipynb")}
    assert listed == on_disk, f"notebooks not in course.yaml: {on_disk - listed}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_notebook_id)
def test_notebook_is_committed_clean(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, (
                f"{path.name}: outputs must be stripped (the hub executes the notebooks)")
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_notebook_id)
def test_notebook_runs_top_to_bottom(path, tmp_path):
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    # Temporary files the lessons make land in tmp_path; CellExecutionError names the cell.
    client.execute(env={**os.environ, **ONE_THREAD, "TMPDIR": str(tmp_path)})
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert not errors
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                      for o in c.outputs if o.output_type == "stream")
    assert "Traceback" not in printed


RUNNER = textwrap.dedent("""
    import json, sys
    with open(sys.argv[1], encoding="utf-8") as fh:
        task = json.load(fh)
    namespace = {"__name__": "__main__"}
    exec(compile(task["code"], "<your code>", "exec"), namespace)
    try:
        exec(compile(task["check"], "<checks>", "exec"), namespace)
    except AssertionError as err:
        print("CHECK FAILED:", err)
        sys.exit(3)
    print("CHECK PASSED")
""")


def _run_exercise(code: str, check: str, tmp_path: Path) -> subprocess.CompletedProcess:
    task = tmp_path / "task.json"
    task.write_text(json.dumps({"code": code, "check": check}), encoding="utf-8")
    return subprocess.run([sys.executable, "-c", RUNNER, str(task)], cwd=tmp_path,
                          env={**os.environ, **ONE_THREAD}, capture_output=True, text=True,
                          timeout=EXERCISE_TIMEOUT_S)


@pytest.mark.parametrize("exercise", _exercises())
def test_exercise_solution_passes_its_check(exercise, tmp_path):
    result = _run_exercise(exercise.solution, exercise.checks, tmp_path)
    assert result.returncode == 0 and "CHECK PASSED" in result.stdout, (
        result.stdout[-2000:] + result.stderr[-2000:])


@pytest.mark.parametrize("exercise", _exercises())
def test_exercise_starter_fails_its_check_with_a_message(exercise, tmp_path):
    result = _run_exercise(exercise.starter, exercise.checks, tmp_path)
    assert result.returncode == 3, (
        "the starter code must run and fail an assert of the check:\n"
        + result.stdout[-2000:] + result.stderr[-2000:])
    message = result.stdout.split("CHECK FAILED:", 1)[1].strip()
    assert len(message) > 10, "a failing check must tell the learner what is wrong"
