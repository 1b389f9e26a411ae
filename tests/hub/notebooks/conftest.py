"""Fixtures of the notebook tests: jobs run at once (huey's immediate mode), small limits."""

from __future__ import annotations

import nbformat
import pytest


@pytest.fixture
def app_config(request):
    config = {"JOBS_IMMEDIATE": True, "NOTEBOOK_CELL_TIMEOUT": 20, "NOTEBOOK_RUN_SECONDS": 60,
              "NOTEBOOK_RUN_MEMORY": 1536 * 2**20}
    config.update(getattr(request, "param", {}))
    return config


def make_notebook(*cells, metadata=None) -> bytes:
    """``.ipynb`` bytes of a notebook: strings starting with ``# md`` become Markdown cells,
    others code cells; dicts are taken as cells as they are."""
    nb = nbformat.v4.new_notebook()
    for cell in cells:
        if isinstance(cell, dict):
            nb.cells.append(nbformat.from_dict(cell))
        elif cell.startswith("# md\n"):
            nb.cells.append(nbformat.v4.new_markdown_cell(cell[len("# md\n"):]))
        else:
            nb.cells.append(nbformat.v4.new_code_cell(cell))
    if metadata:
        nb.metadata.update(metadata)
    return nbformat.writes(nb).encode("utf-8")
