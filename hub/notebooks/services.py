"""Notebook services: upload, versions, rendering, runs, likes and comments (no HTTP here).

The web views, the JSON API, the ``skiff notebook`` CLI, the background jobs and other
features (courses) all call these functions. What another feature needs::

    from hub.notebooks import services as notebooks

    # Store a notebook (bytes, a path, or a binary stream) for a user. A notebook with the
    # same owner and slug gets a new version; otherwise a new notebook is created.
    version = notebooks.import_notebook(teacher, Path("courses/intro/01-tensors.ipynb"),
                                        title="Tensors and broadcasting", tags=["course"])
    session.commit()            # import_notebook adds to the session; the caller commits

    run = notebooks.request_run(version, requested_by=teacher)   # queues a sandboxed run
    run = notebooks.latest_run(version.notebook)    # NotebookRun or None
    run.status        # "queued", "running", "passed", "failed", "timed_out" or "error"
    run.failed_cell, run.error, run.framework_version, run.duration, run.finished_at
    notebooks.badge(version.notebook)    # {"state": "passed", "text": "runs on framework
                                         #   0.1 (checked 2026-11-27)"} or None
    notebooks.notebook_url(version.notebook)    # its page

Every upload (web, API, ``skiff notebook push``, course import, executed copies of runs) goes
through :func:`upload_notebook`, which records the zoo models the notebook uses
(:func:`sync_model_references`), so their pages link back to it under "Used in".

Every function raises :class:`NotebookError` with a message meant for people when the input is
wrong (invalid JSON, not a notebook, too large); nothing is stored then.
"""

from __future__ import annotations

import io
import json
import os
import re
import tempfile
import unicodedata
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote, urlencode

import nbformat
from flask import current_app, has_request_context, url_for
from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from hub import audit, db, search
from hub.db import utcnow
from hub.notebooks.models import (
    Notebook,
    NotebookComment,
    NotebookLike,
    NotebookRun,
    NotebookVersion,
)

#: Largest notebook accepted, unless ``NOTEBOOK_MAX_BYTES`` is set in the app config.
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
MAX_TAGS = 10
_SLUG_STRIP = re.compile(r"[^a-z0-9]+")
_TAG = re.compile(r"^[\w][\w.+-]{0,31}$", re.UNICODE)


class NotebookError(ValueError):
    """A notebook or request that cannot be accepted; ``str(error)`` says why.

    ``status`` is the HTTP status the API answers with (400, 413, 404 or 409).
    """

    def __init__(self, message: str, status: int = 400, code: str = "invalid_notebook"):
        super().__init__(message)
        self.status = status
        self.code = code


def max_bytes() -> int:
    """The largest notebook file accepted by this hub."""
    return int(current_app.config.get("NOTEBOOK_MAX_BYTES", DEFAULT_MAX_BYTES))


# --- reading and validating ------------------------------------------------------------------


def read_limited(source: bytes | str | os.PathLike | BinaryIO, limit: int | None = None) -> bytes:
    """The bytes of ``source`` (bytes, a path or a binary stream), refusing more than
    ``limit`` bytes (default :func:`max_bytes`) while reading."""
    limit = max_bytes() if limit is None else limit
    if isinstance(source, bytes | bytearray):
        data = bytes(source)
        if len(data) > limit:
            raise _too_large(limit)
        return data
    if isinstance(source, str | os.PathLike):
        with open(source, "rb") as fh:
            return read_limited(fh, limit)
    buffer = io.BytesIO()
    while chunk := source.read(1 << 16):
        buffer.write(chunk)
        if buffer.tell() > limit:
            raise _too_large(limit)
    return buffer.getvalue()


def _too_large(limit: int) -> NotebookError:
    return NotebookError(
        _("The notebook is larger than the limit of %(mib)s MiB.", mib=round(limit / 2**20, 1)),
        413, "too_large")


def validate_notebook(data: bytes) -> nbformat.NotebookNode:
    """Parse and validate ``.ipynb`` bytes with nbformat; :class:`NotebookError` if they are not
    a valid notebook (the message says where the JSON or the schema is wrong)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise NotebookError(_("The file is not UTF-8 text, so it is not a notebook.")) from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as err:
        raise NotebookError(_("The file is not valid JSON: %(reason)s at line %(line)s, "
                              "column %(column)s.", reason=err.msg, line=err.lineno,
                              column=err.colno), code="invalid_json") from None
    except RecursionError:
        raise NotebookError(_("The JSON is nested too deeply to be a notebook."),
                            code="invalid_json") from None
    if not isinstance(raw, dict) or "cells" not in raw and "worksheets" not in raw:
        raise NotebookError(_("The JSON is not a Jupyter notebook (it has no cells)."))
    try:
        major = int(raw.get("nbformat", 0))
    except (TypeError, ValueError):
        major = 0
    if major < 4:
        raise NotebookError(_("Only notebook format 4 is supported (this file says %(n)s).",
                              n=str(raw.get("nbformat"))[:20]))
    try:
        nb = nbformat.from_dict(raw)
        with warnings.catch_warnings():
            # Cells without ids are valid before format 4.5; nbformat only warns about them.
            warnings.simplefilter("ignore")
            nbformat.validate(nb)
    except nbformat.ValidationError as err:
        message = str(getattr(err, "message", err)).splitlines()[0][:300]
        raise NotebookError(_("The notebook does not follow the notebook format: %(reason)s",
                              reason=message), code="invalid_notebook") from None
    except Exception as err:  # nbformat raises plain errors for some malformed documents
        raise NotebookError(_("The notebook does not follow the notebook format: %(reason)s",
                              reason=str(err)[:300]), code="invalid_notebook") from None
    return nb


# --- names -----------------------------------------------------------------------------------


def slugify(text: str, default: str = "notebook") -> str:
    """A URL name from a title or file name: lower-case ASCII letters, digits and dashes."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = _SLUG_STRIP.sub("-", ascii_text.lower()).strip("-")[:80].strip("-")
    return slug or default


def parse_tags(tags: Iterable[str] | str | None) -> list[str]:
    """Clean tags: split on commas and spaces, lower-case, at most ten, each a short word."""
    if tags is None:
        return []
    if isinstance(tags, str):
        tags = re.split(r"[,\s]+", tags)
    result: list[str] = []
    for tag in tags:
        tag = str(tag).strip().lower().lstrip("#")
        if not tag:
            continue
        if not _TAG.match(tag):
            raise NotebookError(_("Tags are short words of letters, digits, '.', '+' or '-': "
                                  "%(tag)s is not.", tag=tag[:40]))
        if tag not in result:
            result.append(tag)
    if len(result) > MAX_TAGS:
        raise NotebookError(_("At most %(n)s tags.", n=MAX_TAGS))
    return result


def _notebook_title(nb: nbformat.NotebookNode) -> str | None:
    title = nb.metadata.get("title")
    if isinstance(title, str) and title.strip():
        return title.strip()[:200]
    for cell in nb.cells:
        if cell.get("cell_type") == "markdown":
            for line in str(cell.get("source", "")).splitlines():
                if line.startswith("# "):
                    return line[2:].strip()[:200] or None
            break
    return None


# --- finding and seeing ----------------------------------------------------------------------


def find_notebook(owner_username: str, slug: str) -> Notebook | None:
    """The notebook ``owner_username/slug``, or None."""
    from hub.accounts.models import User

    return db.session().scalar(
        select(Notebook).join(User, Notebook.owner_id == User.id)
        .where(User.username == owner_username.lower(), Notebook.slug == slug.lower()))


def can_view(notebook: Notebook | None, user: Any) -> bool:
    """True if ``user`` (maybe anonymous) may see ``notebook``: listed ones are seen by all,
    private or hidden ones only by the owner and admins."""
    from hub.security import can_manage

    if notebook is None:
        return False
    return notebook.listed or can_manage(notebook, user)


def visible_notebooks(viewer: Any, *, q: str | None = None, tag: str | None = None,
                      owner_id: int | None = None):
    """A select of the notebooks ``viewer`` may see (newest first), optionally filtered by a
    text query on title/description, a tag and an owner."""
    stmt = select(Notebook)
    if not getattr(viewer, "is_admin", False):
        listed = (Notebook.is_public.is_(True)) & (Notebook.is_hidden.is_(False))
        if getattr(viewer, "is_authenticated", False):
            stmt = stmt.where(or_(listed, Notebook.owner_id == viewer.id))
        else:
            stmt = stmt.where(listed)
    if owner_id is not None:
        stmt = stmt.where(Notebook.owner_id == owner_id)
    if q:
        pattern = "%" + q.strip().lower().replace("\\", "\\\\").replace("%", "\\%") \
            .replace("_", "\\_") + "%"
        stmt = stmt.where(or_(func.lower(Notebook.title).like(pattern, escape="\\"),
                              func.lower(Notebook.description).like(pattern, escape="\\"),
                              func.lower(Notebook.tags).like(pattern, escape="\\")))
    if tag:
        # Tags are stored space-separated: match one whole tag.
        padded = func.concat(" ", Notebook.tags, " ") if not db.get_database().is_sqlite \
            else (" " + Notebook.tags + " ")
        stmt = stmt.where(padded.like(f"% {tag.strip().lower()} %"))
    return stmt.order_by(Notebook.updated_at.desc(), Notebook.id.desc())


def get_version(notebook: Notebook, number: int | None = None) -> NotebookVersion | None:
    """Version ``number`` of ``notebook`` (default: the newest)."""
    if number is None:
        return notebook.latest_version
    return next((v for v in notebook.versions if v.number == number), None)


def notebook_url(notebook: Notebook, **params: Any) -> str:
    """The notebook's page (a path; works in jobs and seed steps too, outside requests)."""
    if has_request_context():
        return url_for("notebooks.detail", owner=notebook.owner.username, slug=notebook.slug,
                       **params)
    path = f"/notebooks/{quote(notebook.owner.username)}/{quote(notebook.slug)}"
    return path + ("?" + urlencode(params) if params else "")


# --- storing ---------------------------------------------------------------------------------


def upload_notebook(
    owner: Any,
    source: bytes | str | os.PathLike | BinaryIO,
    *,
    title: str | None = None,
    slug: str | None = None,
    description: str | None = None,
    tags: Iterable[str] | str | None = None,
    is_public: bool | None = None,
    filename: str | None = None,
    render: bool = True,
    source_kind: str = "upload",
    run_of: NotebookVersion | None = None,
) -> NotebookVersion:
    """Validate and store a notebook for ``owner``; return the new :class:`NotebookVersion`.

    The notebook is ``owner``'s notebook with ``slug`` (default: from ``title``, the file name
    or the notebook's first heading). If it exists this upload is its next version, and the
    title, description, tags and visibility change only where given; otherwise a notebook is
    created (public unless ``is_public=False``). The bytes are validated before anything is
    stored, then stored as a blob, then the rows are added to the session (with an audit
    event and the search entry); the caller commits. With ``render=True`` a render job is
    queued after that commit by :func:`request_render` — call it yourself after committing
    when ``render=False``.
    """
    from hub.infra.storage import get_storage

    data = read_limited(source)
    nb = validate_notebook(data)
    if isinstance(source, str | os.PathLike) and filename is None:
        filename = Path(source).name
    if slug:
        slug = slugify(slug)
    else:
        base = title or (Path(filename).stem if filename else None) or _notebook_title(nb) or ""
        slug = slugify(base)
    tag_list = parse_tags(tags) if tags is not None else None
    session = db.session()
    notebook = session.scalar(select(Notebook).where(Notebook.owner_id == owner.id,
                                                     Notebook.slug == slug))
    created = notebook is None
    if created:
        notebook = Notebook(
            owner_id=owner.id, owner=owner, slug=slug,
            title=(title or _notebook_title(nb) or (Path(filename).stem if filename else slug))
            .strip()[:200],
            description=(description or "").strip(), tags=" ".join(tag_list or []),
            is_public=True if is_public is None else bool(is_public),
        )
        session.add(notebook)
    else:
        if title:
            notebook.title = title.strip()[:200]
        if description is not None:
            notebook.description = description.strip()
        if tag_list is not None:
            notebook.tags = " ".join(tag_list)
        if is_public is not None:
            notebook.is_public = bool(is_public)
    digest = get_storage().put(data)
    number = 1 + max((v.number for v in notebook.versions), default=0)
    version = NotebookVersion(
        number=number, digest=digest, size=len(data), cell_count=len(nb.cells),
        source=source_kind, run_of_id=run_of.id if run_of is not None else None,
        created_by_id=getattr(owner, "id", None), render_state="pending", render_message="",
    )
    notebook.versions.append(version)
    notebook.updated_at = utcnow()
    session.flush()
    sync_model_references(notebook, nb)
    if source_kind == "upload":
        audit.record("notebook.upload", target=f"notebook:{notebook.id}",
                     details={"slug": notebook.slug, "version": number, "sha256": digest,
                              "size": len(data), "created": created})
    reindex(notebook)
    if render:
        session.commit()
        request_render(version)
    return version


def import_notebook(owner: Any, path_or_bytes: bytes | str | os.PathLike | BinaryIO,
                    title: str | None = None, **options: Any) -> NotebookVersion:
    """Store a notebook for ``owner`` from a file path, bytes or a stream (see
    :func:`upload_notebook` for ``slug``, ``description``, ``tags``, ``is_public``).

    Used by features that bring their own notebooks (a course's lessons). Importing the same
    bytes as the notebook's newest *uploaded* version again adds no version (executed versions
    from runs do not count): that version is returned, with the given title, description, tags
    and visibility applied (and its zoo model links brought up to date), so importing a folder
    twice is harmless.
    """
    import hashlib

    data = read_limited(path_or_bytes)
    slug = options.get("slug")
    if not slug:
        name = Path(path_or_bytes).stem if isinstance(path_or_bytes, str | os.PathLike) else None
        slug = slugify(title or name or "")
        options["slug"] = slug
    existing = db.session().scalar(select(Notebook).where(Notebook.owner_id == owner.id,
                                                          Notebook.slug == slugify(slug)))
    uploads = [v for v in existing.versions if v.source == "upload"] if existing else []
    if uploads and uploads[-1].digest == hashlib.sha256(data).hexdigest():
        from hub.infra.storage import get_storage

        if get_storage().exists(uploads[-1].digest):
            nb = validate_notebook(data)
            update_notebook(existing, title=title, description=options.get("description"),
                            tags=options.get("tags"), is_public=options.get("is_public"))
            if existing.latest_version is uploads[-1]:
                # Models published since the last import are linked now.
                sync_model_references(existing, nb)
            return uploads[-1]
    filename = Path(path_or_bytes).name if isinstance(path_or_bytes, str | os.PathLike) else None
    return upload_notebook(owner, data, title=title, filename=filename, **options)


def notebook_sources(nb: nbformat.NotebookNode) -> str:
    """The source text of a notebook's code and Markdown cells, one after the other."""
    parts = []
    for cell in nb.cells:
        if cell.get("cell_type") in ("code", "markdown"):
            source = cell.get("source", "")
            parts.append("".join(source) if isinstance(source, list) else str(source))
    return "\n".join(parts)


def sync_model_references(notebook: Notebook, nb: nbformat.NotebookNode) -> list:
    """Record the zoo models ``nb`` (the notebook's newest version) uses, replacing what an
    older version named: every ``owner/name`` in its code or Markdown that is a model the
    notebook's owner can see (``fw.hub.load("ada/net")``, a ``hub.client`` download, a link).
    A path such as ``data/train.csv`` names no model and is ignored. Whether a model page
    lists the notebook is decided for each viewer (private notebooks only to those who may
    open them). The caller commits; returns the models."""
    from hub.zoo import services as zoo

    return zoo.sync_references("notebook", notebook.id, notebook.title,
                               notebook_url(notebook), notebook_sources(nb),
                               viewer=notebook.owner)


def reindex(notebook: Notebook) -> None:
    """Update the notebook's site-search entry (visible only when public and not hidden)."""
    search.index("notebook", notebook.id, title=notebook.title, url=notebook_url(notebook),
                 description=notebook.description, tags=notebook.tag_list,
                 visible=notebook.listed)


def update_notebook(notebook: Notebook, *, title: str | None = None,
                    description: str | None = None, tags: Iterable[str] | str | None = None,
                    is_public: bool | None = None) -> Notebook:
    """Change a notebook's details (the caller commits)."""
    if title is not None and title.strip() and title.strip()[:200] != notebook.title:
        from hub.zoo import services as zoo

        notebook.title = title.strip()[:200]
        zoo.retitle_references("notebook", notebook.id, title=notebook.title,
                               url=notebook_url(notebook))
    if description is not None:
        notebook.description = description.strip()
    if tags is not None:
        notebook.tags = " ".join(parse_tags(tags))
    if is_public is not None:
        notebook.is_public = bool(is_public)
    notebook.updated_at = utcnow()
    reindex(notebook)
    return notebook


def delete_notebook(notebook: Notebook, by: Any = None) -> None:
    """Delete a notebook with its versions, runs, likes and comments (audited; the caller
    commits). Blobs stay in the content-addressed store, which other versions may share."""
    session = db.session()
    audit.record("notebook.delete", target=f"notebook:{notebook.id}", actor=by,
                 details={"slug": notebook.slug, "owner": notebook.owner.username,
                          "versions": len(notebook.versions)})
    search.remove("notebook", notebook.id)
    from hub.zoo import services as zoo

    zoo.remove_references("notebook", notebook.id)
    for model in (NotebookRun, NotebookLike, NotebookComment):
        for row in session.scalars(select(model).where(model.notebook_id == notebook.id)):
            session.delete(row)
    session.flush()
    session.delete(notebook)


def set_hidden(notebook: Notebook, hidden: bool) -> None:
    """Hide (moderation) or show a notebook; its search entry follows."""
    notebook.is_hidden = bool(hidden)
    reindex(notebook)


# --- rendering -------------------------------------------------------------------------------


def request_render(version: NotebookVersion):
    """Render ``version`` to sanitized HTML in a background job, reusing the cached HTML of
    identical bytes. Commits the session (the job must see the version). Returns the job, or
    None when the cache already had it."""
    from hub.infra import jobs
    from hub.notebooks.render import cached_render

    session = db.session()
    if cached_render(version.digest) is not None:
        version.render_state, version.render_message = "done", ""
        session.commit()
        return None
    version.render_state = "pending"
    session.commit()
    job = jobs.enqueue("notebook_render", {"version_id": version.id},
                       owner=version.created_by_id)
    version.render_job_id = job.id
    session.commit()
    session.refresh(version)
    session.commit()
    return job


def rendered_html(version: NotebookVersion) -> str | None:
    """The sanitized HTML body of ``version``, or None when not rendered yet."""
    from hub.infra.storage import get_storage
    from hub.notebooks.render import cached_render

    render = cached_render(version.digest)
    if render is None:
        return None
    return get_storage().read_bytes(render.html_digest).decode("utf-8")


# --- running ---------------------------------------------------------------------------------


def request_run(version: NotebookVersion, requested_by: Any = None) -> NotebookRun:
    """Run ``version`` in the sandbox in a background job; return the :class:`NotebookRun`.

    The run's outcome (status, failed cell and error, framework version, duration) is written
    to the run when the job ends, and an executed copy with its outputs becomes a new version
    of the notebook. Commits the session.
    """
    from hub.infra import jobs

    session = db.session()
    run = NotebookRun(notebook_id=version.notebook_id, version_id=version.id, status="queued",
                      requested_by_id=getattr(requested_by, "id", requested_by))
    session.add(run)
    session.commit()
    run_id = run.id
    job = jobs.enqueue("notebook_run", {"run_id": run_id},
                       owner=getattr(requested_by, "id", requested_by))
    run = session.get(NotebookRun, run_id)
    session.refresh(run)
    if run.job_id is None:
        run.job_id = job.id
    session.commit()
    return run


def latest_run(notebook: Notebook) -> NotebookRun | None:
    """The newest run of any version of ``notebook``, or None."""
    return db.session().scalar(select(NotebookRun).where(NotebookRun.notebook_id == notebook.id)
                               .order_by(NotebookRun.id.desc()).limit(1))


def latest_finished_run(notebook: Notebook) -> NotebookRun | None:
    """The newest run of ``notebook`` that has an outcome, or None."""
    return db.session().scalar(
        select(NotebookRun).where(NotebookRun.notebook_id == notebook.id,
                                  NotebookRun.status.in_(("passed", "failed", "timed_out",
                                                          "error")))
        .order_by(NotebookRun.id.desc()).limit(1))


def badge(notebook: Notebook) -> dict[str, str] | None:
    """The run badge of ``notebook``: ``{"state", "text"}`` from its latest finished run
    ("runs on framework X.Y (checked DATE)" when it passed), or None if never run."""
    run = latest_finished_run(notebook)
    if run is None:
        return None
    date = (run.finished_at or run.created_at).date().isoformat()
    if run.status == "passed":
        text = _("runs on framework %(version)s (checked %(date)s)",
                 version=run.framework_version or "?", date=date)
    elif run.status == "failed":
        text = _("fails on framework %(version)s at cell %(cell)s (checked %(date)s)",
                 version=run.framework_version or "?", cell=run.failed_cell or "?", date=date)
    elif run.status == "timed_out":
        text = _("timed out on framework %(version)s (checked %(date)s)",
                 version=run.framework_version or "?", date=date)
    else:
        text = _("could not be run (checked %(date)s)", date=date)
    return {"state": run.status, "text": text}


#: Messages the sandboxed runner and the run job write (in English, outside any request),
#: matched to translate them when shown.
_RUN_MESSAGES = (
    (re.compile(r"^The cell ran longer than (?P<seconds>\d+) s\.$"),
     lambda m: _("The cell ran longer than %(seconds)s s.", seconds=m["seconds"])),
    (re.compile(r"^The notebook ran longer than the limit of (?P<seconds>[\d.]+) s and was "
                r"stopped\.$"),
     lambda m: _("The notebook ran longer than the limit of %(seconds)s s and was stopped.",
                 seconds=m["seconds"])),
    (re.compile(r"^The kernel died \(it may have run out of memory\)\.$"),
     lambda m: _("The kernel died (it may have run out of memory).")),
)


def localized_error(error: str) -> str:
    """A run's error message in the reader's language when the hub wrote it (Python's own
    error messages stay as they are)."""
    for pattern, translate in _RUN_MESSAGES:
        match = pattern.match(error or "")
        if match:
            return translate(match)
    return error


def describe_run(run: NotebookRun) -> str:
    """One sentence about a run's outcome, for people."""
    if run.status == "passed":
        return _("Every cell ran (%(seconds)s s).", seconds=round(run.duration or 0, 1))
    if run.status == "failed":
        return _("Failed at cell %(cell)s: %(error)s", cell=run.failed_cell or "?",
                 error=localized_error(run.error))
    if run.status == "timed_out":
        return _("Timed out: %(error)s", error=localized_error(run.error))
    if run.status == "error":
        return _("Could not run: %(error)s", error=localized_error(run.error))
    if run.status == "running":
        return _("Running…")
    return _("Waiting to run…")


# --- likes and comments ----------------------------------------------------------------------


def like_count(notebook: Notebook) -> int:
    return db.session().scalar(select(func.count()).select_from(NotebookLike)
                               .where(NotebookLike.notebook_id == notebook.id)) or 0


def likes(notebook: Notebook, user: Any) -> bool:
    """True if ``user`` likes ``notebook``."""
    if not getattr(user, "is_authenticated", False):
        return False
    return db.session().scalar(select(NotebookLike.id).where(
        NotebookLike.notebook_id == notebook.id, NotebookLike.user_id == user.id)) is not None


def set_like(notebook: Notebook, user: Any, like: bool) -> None:
    """Like or unlike (idempotent; the caller commits)."""
    session = db.session()
    row = session.scalar(select(NotebookLike).where(NotebookLike.notebook_id == notebook.id,
                                                    NotebookLike.user_id == user.id))
    if like and row is None:
        session.add(NotebookLike(notebook_id=notebook.id, user_id=user.id))
    elif not like and row is not None:
        session.delete(row)


def add_comment(notebook: Notebook, author: Any, body: str) -> NotebookComment:
    """Add a comment (plain text, shown escaped; the caller commits)."""
    body = (body or "").strip()
    if not body:
        raise NotebookError(_("A comment cannot be empty."))
    if len(body) > 5000:
        raise NotebookError(_("A comment may have at most 5000 characters."))
    comment = NotebookComment(notebook_id=notebook.id, author_id=author.id, body=body)
    db.session().add(comment)
    return comment


def visible_comments(notebook: Notebook, viewer: Any) -> list[NotebookComment]:
    """Comments ``viewer`` may see: hidden ones only for admins and the notebook's owner."""
    from hub.security import can_manage

    stmt = select(NotebookComment).where(NotebookComment.notebook_id == notebook.id)
    if not can_manage(notebook, viewer):
        stmt = stmt.where(NotebookComment.is_hidden.is_(False))
    return list(db.session().scalars(stmt.order_by(NotebookComment.id)))


def spool(stream: BinaryIO, limit: int | None = None) -> bytes:
    """Read an upload stream into memory through a spooled file, refusing more than ``limit``
    bytes as soon as they arrive."""
    limit = max_bytes() if limit is None else limit
    with tempfile.SpooledTemporaryFile(max_size=1 << 20) as spooled:
        total = 0
        while chunk := stream.read(1 << 16):
            total += len(chunk)
            if total > limit:
                raise _too_large(limit)
            spooled.write(chunk)
        spooled.seek(0)
        return spooled.read()
