"""Leaderboard tables: hardware systems, submissions, their results and checks, the cached
reference evidence, reviewers and the board cache generation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.accounts.models import Organization, User
from hub.db import Base, UTCDateTime, utcnow

#: MLPerf's availability categories of a system.
SYSTEM_STATUSES = ("available", "preview", "research")
#: States of a submission. Only ``verified`` results are ranked on the boards.
SUBMISSION_STATUSES = ("checking", "verified", "needs_review", "rejected", "failed",
                       "withdrawn")
#: Outcomes of one automatic check.
CHECK_STATUSES = ("passed", "failed", "needs_review")


class HardwareSystem(Base):
    """A hardware system registered by a vendor organization (MLPerf field names)."""

    __tablename__ = "lb_systems"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    system_name: Mapped[str] = mapped_column(String(200))
    submitter: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="available")
    accelerator_model_name: Mapped[str] = mapped_column(String(200), default="")
    accelerators_per_node: Mapped[int] = mapped_column(Integer, default=0)
    accelerator_memory_capacity: Mapped[str] = mapped_column(String(100), default="")
    host_processor_model_name: Mapped[str] = mapped_column(String(200), default="")
    host_processors_per_node: Mapped[int] = mapped_column(Integer, default=1)
    host_memory_capacity: Mapped[str] = mapped_column(String(100), default="")
    framework: Mapped[str] = mapped_column(String(300), default="")
    other_software_stack: Mapped[str] = mapped_column(String(500), default="")
    operating_system: Mapped[str] = mapped_column(String(300), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    # Declared peak of the whole system in GFLOP/s (float32), for the plausibility check.
    peak_gflops: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    organization: Mapped[Organization] = relationship()

    #: The MLPerf fields, in the order forms and pages show them.
    FIELDS = ("system_name", "submitter", "status", "accelerator_model_name",
              "accelerators_per_node", "accelerator_memory_capacity",
              "host_processor_model_name", "host_processors_per_node", "host_memory_capacity",
              "framework", "other_software_stack", "operating_system", "notes")

    def to_fields(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self.FIELDS}


class Submission(Base):
    """One uploaded result bundle for one system; ``public_id`` is its stable result ID."""

    __tablename__ = "lb_submissions"
    __table_args__ = (UniqueConstraint("suite_version", "sequence"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    suite_version: Mapped[str] = mapped_column(String(16))
    sequence: Mapped[int] = mapped_column(Integer)
    system_id: Mapped[int] = mapped_column(ForeignKey("lb_systems.id", ondelete="CASCADE"),
                                           index=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    submitted_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True)
    status: Mapped[str] = mapped_column(String(16), default="checking", index=True)
    mode: Mapped[str] = mapped_column(String(8), default="full")
    backend_name: Mapped[str] = mapped_column(String(100))
    backend_version: Mapped[str] = mapped_column(String(100), default="")
    bundle_digest: Mapped[str] = mapped_column(String(64))
    bundle_bytes: Mapped[int] = mapped_column(Integer)
    bundle_system: Mapped[dict] = mapped_column(JSON, default=dict)
    # The zoo models ("owner/name") the submitter says the result ran; linked from their
    # pages ("Used in") while the result is verified.
    models: Mapped[list] = mapped_column(JSON, default=list)
    review_reason: Mapped[str] = mapped_column(Text, default="")
    reviewed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    system: Mapped[HardwareSystem] = relationship()
    submitted_by: Mapped[User | None] = relationship(foreign_keys=[submitted_by_id])
    reviewed_by: Mapped[User | None] = relationship(foreign_keys=[reviewed_by_id])
    results: Mapped[list[BenchmarkResult]] = relationship(
        back_populates="submission", cascade="all, delete-orphan",
        order_by="BenchmarkResult.id")
    checks: Mapped[list[SubmissionCheck]] = relationship(
        back_populates="submission", cascade="all, delete-orphan",
        order_by="SubmissionCheck.id")


class BenchmarkResult(Base):
    """One benchmark's headline metric from a submission (one row per board entry)."""

    __tablename__ = "lb_results"
    __table_args__ = (
        UniqueConstraint("submission_id", "benchmark"),
        Index("ix_lb_results_board", "benchmark", "visible", "value"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(
        ForeignKey("lb_submissions.id", ondelete="CASCADE"), index=True)
    benchmark: Mapped[str] = mapped_column(String(64))
    scenario: Mapped[str] = mapped_column(String(32))
    model: Mapped[str | None] = mapped_column(String(64), nullable=True)
    metric: Mapped[str] = mapped_column(String(32))
    value: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(16))
    higher_is_better: Mapped[bool] = mapped_column(Boolean, default=True)
    # Mirrors the submission's state (verified or needs review), so a board is one query.
    visible: Mapped[bool] = mapped_column(Boolean, default=False)
    secondary: Mapped[dict] = mapped_column(JSON, default=dict)
    stats: Mapped[dict] = mapped_column(JSON, default=dict)

    submission: Mapped[Submission] = relationship(back_populates="results")


class SubmissionCheck(Base):
    """The outcome of one automatic check of a submission, with its reason."""

    __tablename__ = "lb_checks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(
        ForeignKey("lb_submissions.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")

    submission: Mapped[Submission] = relationship(back_populates="checks")


class ReferenceEvidence(Base):
    """The reference backend's correctness evidence for one suite version, computed once."""

    __tablename__ = "lb_reference"
    __table_args__ = (UniqueConstraint("suite_version", "backend"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    suite_version: Mapped[str] = mapped_column(String(16))
    backend: Mapped[str] = mapped_column(String(100))
    evidence: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Reviewer(Base):
    """A person an admin allowed to approve or reject submissions that need review."""

    __tablename__ = "lb_reviewers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship()


class BoardGeneration(Base):
    """One row whose counter is bumped whenever a board's content changes; cached board
    queries carry the counter they were computed at (shared by every process)."""

    __tablename__ = "lb_board_generation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    generation: Mapped[int] = mapped_column(Integer, default=0)
