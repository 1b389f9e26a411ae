"""The notebook tables: notebooks, their versions, renders, runs, likes and comments.

A :class:`Notebook` is one owner's notebook under a slug (``/notebooks/<owner>/<slug>``); each
upload of the same owner and slug adds a :class:`NotebookVersion` (``number`` 1, 2, …) whose
bytes are a blob in the content-addressed store. A run of a version in the sandbox is a
:class:`NotebookRun`; its executed notebook, with outputs, becomes a new version too
(``source == "run"``). Rendered HTML is cached by the notebook's content hash in
:class:`NotebookRender`, so the same bytes are rendered once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.accounts.models import User
from hub.db import Base, UTCDateTime, utcnow

#: How a version came to be: uploaded by a person, or produced by a run in the sandbox.
VERSION_SOURCES = ("upload", "run")
#: Rendering states of a version: waiting for the job, rendered, or the render failed.
RENDER_STATES = ("pending", "done", "failed")
#: Run states: waiting, in the sandbox, every cell ran, a cell raised, out of time, or the
#: run could not happen at all (no sandbox, kernel died).
RUN_STATES = ("queued", "running", "passed", "failed", "timed_out", "error")


class Notebook(Base):
    """A notebook: its owner, slug, title, description, tags and visibility."""

    __tablename__ = "notebooks"
    __table_args__ = (UniqueConstraint("owner_id", "slug"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    slug: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    #: Lower-case tags separated by single spaces (``" ".join(tag_list)``).
    tags: Mapped[str] = mapped_column(String(500), default="")
    is_public: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Hidden by moderation (an admin, after a report): only the owner and admins see it.
    is_hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    owner: Mapped[User] = relationship()
    versions: Mapped[list[NotebookVersion]] = relationship(
        back_populates="notebook", order_by="NotebookVersion.number",
        cascade="all, delete-orphan", passive_deletes=True,
    )

    @property
    def tag_list(self) -> list[str]:
        return [t for t in (self.tags or "").split() if t]

    @property
    def latest_version(self) -> NotebookVersion | None:
        return self.versions[-1] if self.versions else None

    @property
    def listed(self) -> bool:
        """True when anyone may see it: public and not hidden by moderation."""
        return self.is_public and not self.is_hidden


class NotebookVersion(Base):
    """One stored version of a notebook (its ``.ipynb`` bytes are the blob ``digest``)."""

    __tablename__ = "notebook_versions"
    __table_args__ = (UniqueConstraint("notebook_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notebook_id: Mapped[int] = mapped_column(
        ForeignKey("notebooks.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(Integer)
    cell_count: Mapped[int] = mapped_column(Integer, default=0)
    source: Mapped[str] = mapped_column(String(16), default="upload")
    #: For an executed version: the version that was run.
    run_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("notebook_versions.id", ondelete="SET NULL"), nullable=True
    )
    render_state: Mapped[str] = mapped_column(String(16), default="pending")
    render_message: Mapped[str] = mapped_column(Text, default="")
    render_job_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    notebook: Mapped[Notebook] = relationship(back_populates="versions")
    created_by: Mapped[User | None] = relationship()


class NotebookRender(Base):
    """Rendered, sanitized HTML of one notebook content hash, made by one renderer version."""

    __tablename__ = "notebook_renders"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    renderer: Mapped[str] = mapped_column(String(32))
    html_digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class NotebookRun(Base):
    """One execution of a version in the sandbox, and its outcome."""

    __tablename__ = "notebook_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notebook_id: Mapped[int] = mapped_column(
        ForeignKey("notebooks.id", ondelete="CASCADE"), index=True
    )
    version_id: Mapped[int | None] = mapped_column(
        ForeignKey("notebook_versions.id", ondelete="SET NULL"), nullable=True
    )
    #: The executed version (with outputs) this run produced, when it got that far.
    result_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("notebook_versions.id", ondelete="SET NULL"), nullable=True
    )
    job_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    #: 1-based number of the code cell that failed (counting code cells only).
    failed_cell: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str] = mapped_column(Text, default="")
    framework_version: Mapped[str] = mapped_column(String(40), default="")
    duration: Mapped[float | None] = mapped_column(Float, nullable=True)
    requested_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    notebook: Mapped[Notebook] = relationship()
    version: Mapped[NotebookVersion | None] = relationship(foreign_keys=[version_id])
    result_version: Mapped[NotebookVersion | None] = relationship(
        foreign_keys=[result_version_id])

    @property
    def finished(self) -> bool:
        return self.status in ("passed", "failed", "timed_out", "error")


class NotebookLike(Base):
    """A person likes a notebook (at most once)."""

    __tablename__ = "notebook_likes"
    __table_args__ = (UniqueConstraint("notebook_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notebook_id: Mapped[int] = mapped_column(
        ForeignKey("notebooks.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class NotebookComment(Base):
    """A comment on a notebook; an admin or the notebook's owner may hide it."""

    __tablename__ = "notebook_comments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notebook_id: Mapped[int] = mapped_column(
        ForeignKey("notebooks.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    body: Mapped[str] = mapped_column(Text)
    is_hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[User | None] = relationship()
    notebook: Mapped[Notebook] = relationship()
