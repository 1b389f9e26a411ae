"""Site-wide search: the shared index, full-text matching, Chinese text, the search page."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub import db as hub_db
from hub import search


@pytest.fixture
def indexed(app):
    with app.app_context():
        search.index("model", 1, title="ResNet-18 image classifier", url="/models/1",
                     description="A residual network trained on CIFAR-10.", tags=["vision", "cnn"])
        search.index("course", "intro", title="Introduction to autograd", url="/courses/intro",
                     description="Build backpropagation from scratch.", tags="teaching")
        search.index("notebook", 5, title="图像分类入门", url="/notebooks/5",
                     description="用卷积网络做图像分类", tags=["视觉"])
        search.index("model", 2, title="Private draft", url="/models/2", visible=False)
        hub_db.session().commit()
    return app


def _titles(q, **kw):
    return [hit.title for hit in search.query(q, **kw).hits]


def test_words_match_as_prefixes_across_title_description_and_tags(indexed):
    with indexed.app_context():
        assert _titles("resnet") == ["ResNet-18 image classifier"]
        assert _titles("residual") == ["ResNet-18 image classifier"]
        assert _titles("visi") == ["ResNet-18 image classifier"]
        assert _titles("autograd scratch") == ["Introduction to autograd"]
        assert _titles("autograd vision") == []  # every word must match
        assert _titles("draft") == []  # hidden entries never show
        assert _titles("") == []


def test_chinese_text_is_found_by_substring(indexed):
    with indexed.app_context():
        assert _titles("图像") == ["图像分类入门"]
        assert _titles("卷积") == ["图像分类入门"]
        assert _titles("视觉") == ["图像分类入门"]
        assert _titles("语言") == []


def test_kind_filter_update_and_remove(indexed):
    with indexed.app_context():
        assert _titles("introduction", kinds=["model"]) == []
        search.index("course", "intro", title="Intro to higher-order gradients",
                     url="/courses/intro")
        hub_db.session().commit()
        assert _titles("autograd") == []
        assert _titles("higher") == ["Intro to higher-order gradients"]
        search.remove("course", "intro")
        hub_db.session().commit()
        assert _titles("higher") == []
        assert search.set_visible("model", 2, True)
        hub_db.session().commit()
        assert _titles("draft") == ["Private draft"]
        assert not search.set_visible("model", 99, True)


def test_ranking_prefers_title_matches(app):
    with app.app_context():
        search.index("model", 1, title="Generic network", url="/m/1",
                     description="mentions transformer once")
        search.index("model", 2, title="Transformer encoder", url="/m/2")
        hub_db.session().commit()
        assert _titles("transformer") == ["Transformer encoder", "Generic network"]


def test_search_page_shows_escaped_results_and_pages(app, client):
    with app.app_context():
        for i in range(25):
            search.index("model", i, title=f"Model <b>{i}</b>", url=f"/models/{i}",
                         tags=["bench"])
        hub_db.session().commit()
    page = client.get("/search?q=bench").get_data(as_text=True)
    assert "25 results" in page
    assert "Model &lt;b&gt;" in page and "<b>" not in page
    assert "Page 1 of 2" in page
    page2 = client.get("/search?q=bench&page=2").get_data(as_text=True)
    assert page2.count('href="/models/') == 5


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(q=st.text(max_size=40))
def test_any_query_text_is_safe(indexed, q):
    """FTS syntax, quotes, operators, odd Unicode: never an error, only results or none."""
    with indexed.app_context():
        result = search.query(q)
        assert result.total >= len(result.hits)
    for special in ['"', "NEAR(a b)", "a OR", "*", "title:x", "-x", "^", "%", "_"]:
        with indexed.app_context():
            search.query(special)
