"""The audit log: security-relevant events with who, what, when and from where.

Any feature records an event with :func:`record`; it joins the caller's transaction, so the
event is saved by the same ``db.session().commit()`` as the change it describes (and vanishes
with it on rollback)::

    from hub import audit

    audit.record("model.delete", target=model, details={"name": model.name})
    db.session().commit()

``action`` is ``<thing>.<verb>`` (``user.login``, ``token.create``, ``upload``…); ``target`` is
a string or a model object (recorded as ``"<class>:<id>"``). The actor defaults to the signed-in
user, the address and browser to the current request's. Admins read the log at ``/admin/audit``.
"""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request

from hub import db
from hub.audit.models import AuditEvent

__all__ = ["AuditEvent", "record", "target_label"]


def target_label(target: Any) -> str:
    """How a target is written in the log: strings as they are, objects as ``class:id``."""
    if target is None:
        return ""
    if isinstance(target, str):
        return target[:200]
    return f"{type(target).__name__.lower()}:{getattr(target, 'id', '?')}"[:200]


def _current_actor():
    if not has_request_context():
        return None
    from flask_login import current_user

    return current_user if getattr(current_user, "is_authenticated", False) else None


def record(
    action: str,
    target: Any = None,
    actor: Any = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event to the current session (saved with the caller's commit)."""
    actor = actor if actor is not None else _current_actor()
    event = AuditEvent(
        action=action[:64],
        target=target_label(target),
        actor_id=getattr(actor, "id", None),
        actor_name=(getattr(actor, "username", "") or "")[:64],
        details=dict(details or {}),
    )
    if has_request_context():
        event.ip = (request.remote_addr or "")[:64]
        event.user_agent = (request.user_agent.string or "")[:300]
    db.session().add(event)
    return event
