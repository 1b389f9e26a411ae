"""The moderation queue: people report content, admins hide it or dismiss the report.

A feature whose content can be reported registers how to find and hide it, once::

    from hub.admin import moderation

    moderation.register_target(
        "notebook", _l("Notebook"),
        describe=lambda ref_id: (title, url) or None,   # None: the object is gone
        hide=lambda ref_id, hidden: ...,                # hide (True) or show (False) it
    )

and puts the report button on its pages::

    {% from "_report.html" import report_button %}
    {{ report_button("notebook", notebook.id) }}

Hiding also hides the object's search entry. Every decision is audited (``report.hide``,
``report.dismiss``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from hub import audit, db, search
from hub.admin.models import Report
from hub.db import utcnow


@dataclass(frozen=True)
class ModerationTarget:
    kind: str
    label: object
    describe: Callable[[str], tuple[str, str] | None]
    hide: Callable[[str, bool], None]


TARGETS: dict[str, ModerationTarget] = {}


class ModerationError(ValueError):
    """A report or decision that cannot be made; ``str(error)`` says why."""


def register_target(kind: str, label, describe: Callable, hide: Callable) -> None:
    """Make content of ``kind`` reportable (see the module docstring)."""
    TARGETS[kind] = ModerationTarget(kind, label, describe, hide)


def file_report(reporter, kind: str, ref_id, reason: str) -> Report:
    """Record ``reporter``'s report about one object (audit: ``report.create``)."""
    target = TARGETS.get(kind)
    reason = (reason or "").strip()
    if target is None or target.describe(str(ref_id)) is None:
        raise ModerationError(_l("There is no such content to report."))
    if not reason:
        raise ModerationError(_l("Say briefly what is wrong with it."))
    report = Report(
        reporter_id=getattr(reporter, "id", None), target_kind=kind, target_id=str(ref_id),
        reason=reason[:2000],
    )
    db.session().add(report)
    db.session().flush()
    audit.record("report.create", target=report, actor=reporter,
                 details={"kind": kind, "id": str(ref_id)})
    return report


def decide(report: Report, decision: str, by) -> None:
    """``decision`` is ``hide`` (hide the content), ``dismiss``, or ``restore`` (show it again)."""
    target = TARGETS.get(report.target_kind)
    if decision in ("hide", "restore"):
        if target is None:
            raise ModerationError(_l("This kind of content can no longer be moderated."))
        hidden = decision == "hide"
        target.hide(report.target_id, hidden)
        if hidden:
            search.set_visible(report.target_kind, report.target_id, False)
        # On restore the feature's callback re-indexes the object itself: only it knows
        # whether the object is public (showing it here would leak private content).
        report.status = "hidden" if hidden else "dismissed"
    elif decision == "dismiss":
        report.status = "dismissed"
    else:
        raise ModerationError(_l("Unknown decision."))
    report.resolved_by_id = getattr(by, "id", None)
    report.resolved_at = utcnow()
    audit.record(f"report.{decision}", target=report, actor=by,
                 details={"kind": report.target_kind, "id": report.target_id})


def describe(report: Report) -> tuple[str, str | None]:
    """(title, url) of the reported object, or a placeholder when it is gone."""
    target = TARGETS.get(report.target_kind)
    found = target.describe(report.target_id) if target else None
    if found is None:
        return f"{report.target_kind} {report.target_id}", None
    return found
