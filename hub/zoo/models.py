"""The model zoo's tables: models, their immutable versions and files, tags, likes, comments,
download counts and references from other features.

A :class:`ZooModel` lives at ``namespace/name`` (a user's username or an organization's slug).
Each push adds a :class:`ModelVersion` (``number`` 1, 2, …) that is never rewritten; its
:class:`ModelFile` rows point at blobs in the content-addressed store. A :class:`ModelTag`
(``v1.0``) names one version. List columns (``downloads``, ``likes``, ``latest_number``,
``verified``, ``trend``) are kept on the model row so that the list page sorts and filters
without joins.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
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

#: Validation states of a version.
VALIDATION_STATES = ("queued", "running", "passed", "failed")
#: How a version's architecture is given: a saved static program or a Python module.
ARCHITECTURES = ("program", "module")
#: What a file of a version is.
FILE_KINDS = ("card", "weights", "program", "module", "text")


class ZooModel(Base):
    """A published model: who owns it, what it does, and its list-page counters."""

    __tablename__ = "zoo_models"
    __table_args__ = (
        UniqueConstraint("namespace", "name"),
        Index("ix_zoo_models_listing_updated", "is_public", "is_hidden", "updated_at"),
        Index("ix_zoo_models_listing_downloads", "is_public", "is_hidden", "downloads"),
        Index("ix_zoo_models_listing_likes", "is_public", "is_hidden", "likes"),
        Index("ix_zoo_models_listing_trend", "is_public", "is_hidden", "trend"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The owner's username or the organization's slug (the first part of the address).
    namespace: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(100))
    #: The owning user (None for an organization's model).
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=True, index=True
    )
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=True, index=True
    )
    summary: Mapped[str] = mapped_column(String(300), default="")
    task: Mapped[str] = mapped_column(String(64), default="", index=True)
    license: Mapped[str] = mapped_column(String(64), default="", index=True)
    #: Lower-case tags separated by single spaces, with a space at each end (`` a b ``) so a
    #: tag filter is one ``LIKE '% tag %'``.
    tags: Mapped[str] = mapped_column(String(600), default="")
    is_public: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Hidden by moderation: only its owners and admins see it.
    is_hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    latest_number: Mapped[int] = mapped_column(Integer, default=0)
    #: The latest version passed validation and every metric it claims was re-measured.
    verified: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    validation_status: Mapped[str] = mapped_column(String(16), default="queued")
    downloads: Mapped[int] = mapped_column(Integer, default=0)
    likes: Mapped[int] = mapped_column(Integer, default=0)
    #: log of the sum of exp(t/τ) over downloads and likes: ordering by it ranks by activity
    #: that decays over time, without recomputing anything (see ``services.TREND_TAU_DAYS``).
    trend: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    organization: Mapped[Organization | None] = relationship(foreign_keys=[organization_id])

    @property
    def full_name(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def tag_list(self) -> list[str]:
        return [t for t in (self.tags or "").split() if t]

    @property
    def listed(self) -> bool:
        return self.is_public and not self.is_hidden


class ModelVersion(Base):
    """One immutable upload of a model: its message, card, files and validation outcome."""

    __tablename__ = "zoo_versions"
    __table_args__ = (UniqueConstraint("model_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("zoo_models.id", ondelete="CASCADE"),
                                          index=True)
    number: Mapped[int] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(Text, default="")
    #: The validated front matter of README.md (see ``hub.zoo.card``).
    card: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: The card's body as sanitized HTML (:func:`hub.zoo.card.stored_html`), made when the
    #: version is published; None for versions published before it was kept.
    readme_html: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: ``program`` (an ``fw.jit.save`` folder) or ``module`` (``model.py``).
    architecture: Mapped[str] = mapped_column(String(16))
    #: For a program: the folder holding graph.json ("" for the top level).
    program_dir: Mapped[str] = mapped_column(String(255), default="")
    total_size: Mapped[int] = mapped_column(BigInteger, default=0)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    validation_status: Mapped[str] = mapped_column(String(16), default="queued")
    validation_error: Mapped[str] = mapped_column(Text, default="")
    #: What the validation measured: outputs, re-measured metrics (see ``hub.zoo.validation``).
    validation: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    validation_job_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    validated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    model: Mapped[ZooModel] = relationship()
    created_by: Mapped[User | None] = relationship()
    files: Mapped[list[ModelFile]] = relationship(
        back_populates="version", order_by="ModelFile.path", cascade="all, delete-orphan",
        passive_deletes=True,
    )


class ModelFile(Base):
    """One file of a version: its path in the model folder and its blob."""

    __tablename__ = "zoo_files"
    __table_args__ = (UniqueConstraint("version_id", "path"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("zoo_versions.id", ondelete="CASCADE"),
                                            index=True)
    path: Mapped[str] = mapped_column(String(255))
    digest: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16))

    version: Mapped[ModelVersion] = relationship(back_populates="files")


class ModelTag(Base):
    """A name (``v1.0``) for one version of a model."""

    __tablename__ = "zoo_tags"
    __table_args__ = (UniqueConstraint("model_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("zoo_models.id", ondelete="CASCADE"),
                                          index=True)
    name: Mapped[str] = mapped_column(String(64))
    version_id: Mapped[int] = mapped_column(ForeignKey("zoo_versions.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    version: Mapped[ModelVersion] = relationship()


class ModelLike(Base):
    """One person likes one model."""

    __tablename__ = "zoo_likes"

    model_id: Mapped[int] = mapped_column(ForeignKey("zoo_models.id", ondelete="CASCADE"),
                                          primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ModelComment(Base):
    """A comment in a model's discussion (hidden by moderation after a report)."""

    __tablename__ = "zoo_comments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("zoo_models.id", ondelete="CASCADE"),
                                          index=True)
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    body: Mapped[str] = mapped_column(Text)
    is_hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[User | None] = relationship()


class ModelReference(Base):
    """Something elsewhere on the hub that uses a model (a notebook, a leaderboard entry)."""

    __tablename__ = "zoo_references"
    __table_args__ = (UniqueConstraint("model_id", "kind", "ref_id"),
                      Index("ix_zoo_references_kind_ref", "kind", "ref_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("zoo_models.id", ondelete="CASCADE"),
                                          index=True)
    kind: Mapped[str] = mapped_column(String(32))
    ref_id: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def kind_label(self) -> str:
        """What kind of thing refers to the model, in the reader's language."""
        from hub.zoo.services import reference_label

        return reference_label(self.kind)
