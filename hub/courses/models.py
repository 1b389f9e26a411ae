"""The course tables: courses, their ordered lessons and exercises, and each learner's progress.

A :class:`Course` belongs to a teacher (``owner_id``) and has a unique ``slug``
(``/courses/<slug>``). Its :class:`Lesson` rows are ordered by ``position``; a lesson is either a
notebook of the notebooks feature (``notebook_id``) or a markdown page (``body``). A lesson may
have :class:`Exercise` rows, checked in the sandbox. A learner's :class:`Enrollment` remembers the
lesson they were last on; :class:`LessonCompletion` and :class:`ExerciseResult` hold what they did.
Re-importing a course matches lessons by slug and exercises by key, so progress survives it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.accounts.models import User
from hub.db import Base, UTCDateTime, utcnow

#: What a lesson is: a notebook of the notebooks feature, or a markdown page.
LESSON_KINDS = ("notebook", "markdown")
#: The state of a learner's latest answer to an exercise.
RESULT_STATES = ("checking", "passed", "failed", "error")


class Course(Base):
    """A course: a teacher's ordered lessons, published or kept as a draft."""

    __tablename__ = "courses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    title_zh: Mapped[str] = mapped_column(String(200), default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    summary_zh: Mapped[str] = mapped_column(Text, default="")
    is_published: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    owner: Mapped[User] = relationship()
    lessons: Mapped[list[Lesson]] = relationship(
        back_populates="course", order_by="Lesson.position",
        cascade="all, delete-orphan", passive_deletes=True,
    )

    def localized_title(self, locale: str | None) -> str:
        """The Chinese title when ``locale`` is Chinese and one is given, else the English."""
        return self.title_zh if locale == "zh" and self.title_zh else self.title

    def localized_summary(self, locale: str | None) -> str:
        return self.summary_zh if locale == "zh" and self.summary_zh else self.summary


class Lesson(Base):
    """One lesson of a course, at ``position`` (1, 2, …): a notebook or a markdown page."""

    __tablename__ = "course_lessons"
    __table_args__ = (UniqueConstraint("course_id", "slug"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"),
                                           index=True)
    position: Mapped[int] = mapped_column(Integer)
    slug: Mapped[str] = mapped_column(String(80))
    title: Mapped[str] = mapped_column(String(200))
    title_zh: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[str] = mapped_column(String(16), default="markdown")
    #: Markdown source of a markdown lesson (rendered sanitized when shown).
    body: Mapped[str] = mapped_column(Text, default="")
    notebook_id: Mapped[int | None] = mapped_column(
        ForeignKey("notebooks.id", ondelete="SET NULL"), nullable=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    course: Mapped[Course] = relationship(back_populates="lessons")
    notebook = relationship("Notebook")
    exercises: Mapped[list[Exercise]] = relationship(
        back_populates="lesson", order_by="Exercise.position",
        cascade="all, delete-orphan", passive_deletes=True,
    )

    def localized_title(self, locale: str | None) -> str:
        return self.title_zh if locale == "zh" and self.title_zh else self.title


class Exercise(Base):
    """An auto-checked exercise of a lesson: prompt, starter code, checks, hint, solution.

    ``checks`` is Python run in the sandbox after the learner's code, in the same namespace;
    the first failing ``assert`` gives the learner its message.
    """

    __tablename__ = "course_exercises"
    __table_args__ = (UniqueConstraint("lesson_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("course_lessons.id", ondelete="CASCADE"),
                                           index=True)
    key: Mapped[str] = mapped_column(String(80))
    position: Mapped[int] = mapped_column(Integer)
    prompt: Mapped[str] = mapped_column(Text, default="")
    starter: Mapped[str] = mapped_column(Text, default="")
    checks: Mapped[str] = mapped_column(Text, default="")
    hint: Mapped[str] = mapped_column(Text, default="")
    solution: Mapped[str] = mapped_column(Text, default="")

    lesson: Mapped[Lesson] = relationship(back_populates="exercises")


class Enrollment(Base):
    """A learner follows a course; ``last_lesson_id`` is where they resume."""

    __tablename__ = "course_enrollments"
    __table_args__ = (UniqueConstraint("course_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"),
                                           index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    last_lesson_id: Mapped[int | None] = mapped_column(
        ForeignKey("course_lessons.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    course: Mapped[Course] = relationship()


class LessonCompletion(Base):
    """A learner marked a lesson complete."""

    __tablename__ = "course_lesson_completions"
    __table_args__ = (UniqueConstraint("lesson_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("course_lessons.id", ondelete="CASCADE"),
                                           index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    completed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ExerciseResult(Base):
    """A learner's answers to one exercise: how many attempts, the latest code and outcome."""

    __tablename__ = "course_exercise_results"
    __table_args__ = (UniqueConstraint("exercise_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    exercise_id: Mapped[int] = mapped_column(
        ForeignKey("course_exercises.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="checking")
    #: Why it ended so (see ``hub.courses.checking.REASONS``); the text shown is built from it
    #: in the reader's language.
    reason: Mapped[str] = mapped_column(String(32), default="")
    #: The failing check's message, or the error raised, as the sandbox reported it.
    message: Mapped[str] = mapped_column(Text, default="")
    line: Mapped[int | None] = mapped_column(Integer, nullable=True)
    output: Mapped[str] = mapped_column(Text, default="")
    code: Mapped[str] = mapped_column(Text, default="")
    job_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    ever_passed: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    exercise: Mapped[Exercise] = relationship()
