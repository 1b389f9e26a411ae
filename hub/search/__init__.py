"""Site-wide search over the titles, descriptions and tags of everything features publish.

Design: one shared table, ``search_documents`` (``hub.search.models.SearchDocument``), that
features upsert into in the same transaction as the object it describes. On SQLite an FTS5
table mirrors it through triggers; on PostgreSQL a GIN full-text index covers it. Text in
Chinese (or any query too short for the word index) is matched by substring instead, since
neither index splits Chinese into words.

A feature does three things::

    from hub import search

    search.register_kind("model", _l("Models"))          # once, in its init_app

    search.index("model", model.id, title=model.name, url=url_for("zoo.model", ...),
                 description=model.summary, tags=model.tags, visible=model.is_public)
    search.remove("model", model.id)                     # when it is deleted

and commits with its own change. Moderation hides a document with
``search.set_visible(kind, ref_id, False)``. The page ``/search?q=…`` shows the results.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from flask import Blueprint, Flask, current_app, render_template, request
from sqlalchemy import and_, column, delete, func, or_, select, table, text

from hub import db
from hub.search.models import SearchDocument

__all__ = ["SearchDocument", "index", "remove", "set_visible", "query", "register_kind", "KINDS"]

#: Kinds of searchable things: kind -> label shown in the interface.
KINDS: dict[str, object] = {}

_WORD = re.compile(r"\w+", re.UNICODE)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")
MAX_TERMS = 8

bp = Blueprint("search", __name__)
# The FTS5 mirror of search_documents (SQLite only; created by migration search_0001).
_FTS = table("search_fts", column("rowid"), column("search_fts"))


def register_kind(kind: str, label) -> None:
    """Declare a kind of searchable thing and its (translatable) label."""
    KINDS[kind] = label


def _tags_text(tags: Iterable[str] | str | None) -> str:
    if tags is None:
        return ""
    if isinstance(tags, str):
        return tags[:500]
    return " ".join(str(t).strip() for t in tags if str(t).strip())[:500]


def index(
    kind: str,
    ref_id,
    *,
    title: str,
    url: str,
    description: str = "",
    tags: Iterable[str] | str | None = None,
    visible: bool = True,
) -> SearchDocument:
    """Add or update the search entry of one object (saved with the caller's commit)."""
    session = db.session()
    doc = session.scalar(
        select(SearchDocument).where(
            SearchDocument.kind == kind, SearchDocument.ref_id == str(ref_id)
        )
    )
    if doc is None:
        doc = SearchDocument(kind=kind, ref_id=str(ref_id))
        session.add(doc)
    doc.title = (title or "")[:300]
    doc.url = url[:500]
    doc.description = (description or "")[:20000]
    doc.tags = _tags_text(tags)
    doc.visible = bool(visible)
    session.flush()
    return doc


def remove(kind: str, ref_id) -> None:
    """Drop the search entry of one object, if any."""
    db.session().execute(
        delete(SearchDocument).where(
            SearchDocument.kind == kind, SearchDocument.ref_id == str(ref_id)
        )
    )


def set_visible(kind: str, ref_id, visible: bool) -> bool:
    """Show or hide an entry (moderation); False if there is no such entry."""
    doc = db.session().scalar(
        select(SearchDocument).where(
            SearchDocument.kind == kind, SearchDocument.ref_id == str(ref_id)
        )
    )
    if doc is None:
        return False
    doc.visible = visible
    return True


@dataclass
class SearchResults:
    """One page of results: ``hits`` in rank order and the ``total`` number of matches."""

    query: str
    hits: list[SearchDocument]
    total: int


def _escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _substring_filter(terms: list[str]):
    conditions = []
    for term in terms:
        pattern = f"%{_escape_like(term.lower())}%"
        conditions.append(
            or_(
                func.lower(SearchDocument.title).like(pattern, escape="\\"),
                func.lower(SearchDocument.description).like(pattern, escape="\\"),
                func.lower(SearchDocument.tags).like(pattern, escape="\\"),
            )
        )
    return and_(*conditions)


def query(q: str, *, kinds: Iterable[str] | None = None, limit: int = 20, offset: int = 0):
    """Search visible entries for every word of ``q``; words match as prefixes."""
    q = (q or "").strip()[:200]
    terms = _WORD.findall(q)[:MAX_TERMS]
    if not terms:
        return SearchResults(q, [], 0)
    session = db.session()
    base = [SearchDocument.visible.is_(True)]
    if kinds:
        base.append(SearchDocument.kind.in_(list(kinds)))
    dialect = session.get_bind().dialect.name
    substring = bool(_CJK.search(q))

    if substring or dialect not in ("sqlite", "postgresql"):
        where = and_(*base, _substring_filter(terms))
        total = session.scalar(select(func.count()).select_from(SearchDocument).where(where))
        hits = session.scalars(
            select(SearchDocument)
            .where(where)
            .order_by(SearchDocument.updated_at.desc(), SearchDocument.id.desc())
            .limit(limit)
            .offset(offset)
        ).all()
        return SearchResults(q, list(hits), total or 0)

    if dialect == "sqlite":
        # Each word quoted (no FTS syntax from the user) and matched as a prefix.
        match = " ".join('"' + t.replace('"', "") + '"*' for t in terms)
        where = and_(_FTS.c.search_fts.op("MATCH")(match), *base)
        on = _FTS.c.rowid == SearchDocument.id
        total = session.scalar(
            select(func.count()).select_from(SearchDocument).join(_FTS, on).where(where)
        )
        hits = session.scalars(
            select(SearchDocument)
            .join(_FTS, on)
            .where(where)
            .order_by(text("bm25(search_fts, 10.0, 2.0, 5.0)"), SearchDocument.id)
            .limit(limit)
            .offset(offset)
        ).all()
        return SearchResults(q, list(hits), total or 0)

    # PostgreSQL: the expression must match the GIN index of migration search_0001.
    vector = func.to_tsvector(
        text("'simple'"),
        func.coalesce(SearchDocument.title, "")
        + " "
        + func.coalesce(SearchDocument.description, "")
        + " "
        + func.coalesce(SearchDocument.tags, ""),
    )
    tsquery = func.to_tsquery(text("'simple'"), " & ".join(f"{t.lower()}:*" for t in terms))
    where = and_(vector.op("@@")(tsquery), *base)
    total = session.scalar(select(func.count()).select_from(SearchDocument).where(where))
    hits = session.scalars(
        select(SearchDocument)
        .where(where)
        .order_by(func.ts_rank(_pg_weighted_vector(), tsquery).desc(), SearchDocument.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return SearchResults(q, list(hits), total or 0)


def _pg_weighted_vector():
    """Title words weigh most, then tags, then the description (ranking only; the GIN index
    serves the unweighted match)."""

    def part(col, weight: str):
        return func.setweight(func.to_tsvector(text("'simple'"), func.coalesce(col, "")),
                              text(f"'{weight}'"))

    return (part(SearchDocument.title, "A").op("||")(part(SearchDocument.tags, "B"))
            .op("||")(part(SearchDocument.description, "C")))


@bp.get("/search")
def search_page():
    q = request.args.get("q", "")
    kind = request.args.get("kind") or None
    page = max(1, request.args.get("page", 1, type=int) or 1)
    size = current_app.config["SEARCH_PAGE_SIZE"]
    results = query(q, kinds=[kind] if kind else None, limit=size, offset=(page - 1) * size)
    return render_template(
        "search/results.html",
        results=results,
        kind=kind,
        kinds=KINDS,
        page=page,
        pages=max(1, -(-results.total // size)),
    )


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

