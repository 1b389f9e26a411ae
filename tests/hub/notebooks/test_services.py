"""The service API other features use: import_notebook, slugs, tags, visibility."""

from __future__ import annotations

import pytest

from hub import db as hub_db
from hub.notebooks import services
from tests.hub.notebooks.conftest import make_notebook


def test_import_notebook_from_a_path_is_idempotent(app, make_user, tmp_path):
    teacher = make_user(role="teacher", username="teach")
    lesson = tmp_path / "01-tensors.ipynb"
    lesson.write_bytes(make_notebook("# md\n# Tensors", "x = 1"))
    with app.app_context():
        first = services.import_notebook(teacher, lesson, title="Tensors", tags=["course"],
                                         is_public=False, render=False)
        hub_db.session().commit()
        assert (first.notebook.slug, first.number, first.notebook.is_public) == \
            ("tensors", 1, False)
        assert first.notebook.tag_list == ["course"]
        again = services.import_notebook(teacher, lesson, title="Tensors", is_public=True,
                                         render=False)
        hub_db.session().commit()
        assert again.id == first.id and again.notebook.is_public is True
        lesson.write_bytes(make_notebook("# md\n# Tensors", "x = 2"))
        changed = services.import_notebook(teacher, lesson.read_bytes(), title="Tensors",
                                           render=False)
        hub_db.session().commit()
        assert changed.number == 2 and changed.notebook_id == first.notebook_id
        assert services.latest_run(changed.notebook) is None
        assert services.badge(changed.notebook) is None


def test_slugs_and_tags(app):
    assert services.slugify("Deep learning: from zero!") == "deep-learning-from-zero"
    assert services.slugify("张量与广播") == "notebook"
    with app.app_context():
        assert services.parse_tags("Intro, math  vision") == ["intro", "math", "vision"]
        with pytest.raises(services.NotebookError):
            services.parse_tags("<script>")
        with pytest.raises(services.NotebookError):
            services.parse_tags([f"t{i}" for i in range(11)])
