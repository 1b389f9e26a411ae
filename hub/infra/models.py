"""The jobs table: the state of every background job, visible in the UI and the API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.db import Base, UTCDateTime, utcnow

#: A job's life: queued -> running -> done or failed.
JOB_STATUSES = ("queued", "running", "done", "failed")


class Job(Base):
    """One background job (rendering a notebook, validating a model, checking a result).

    ``kind`` names the task that runs it, ``payload`` is its input and ``result`` its output
    (both JSON). ``progress`` goes from 0 to 100; ``message`` says what it is doing, or why it
    failed.
    """

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str] = mapped_column(String(1000), default="")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result: Mapped[Any | None] = mapped_column(JSON, nullable=True)
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    @property
    def finished(self) -> bool:
        """True once the job is done or failed."""
        return self.status in ("done", "failed")

    @property
    def display_message(self) -> str | None:
        """The progress message in the reader's language (messages marked with ``jobs.N_``
        have translations; others are shown as stored)."""
        from flask import has_request_context

        if not self.message or not has_request_context():
            return self.message
        from flask_babel import gettext

        return gettext(self.message)

    def to_dict(self) -> dict[str, Any]:
        """The job as JSON for the API and the progress poller."""

        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "progress": self.progress,
            "message": self.display_message,
            "result": self.result,
            "owner_id": self.owner_id,
            "created_at": iso(self.created_at),
            "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at),
            "finished": self.finished,
        }

    def __repr__(self) -> str:
        return f"<Job {self.id} {self.kind} {self.status} {self.progress}%>"
