"""Creating, finding and revoking API tokens (services: no HTTP in here).

A token looks like ``skf_<43 url-safe characters>``. Only its SHA-256 is stored; the token
itself is returned once, at creation. Scopes:

- ``read``: read private objects the user may see (public ones need no token);
- ``write``: create and change the user's objects (implies ``read``);
- ``submit``: submit benchmark results for the user's organizations' systems (implies
  ``read``).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from hub import audit, db
from hub.accounts.models import User
from hub.api.models import ApiToken
from hub.db import utcnow

PREFIX = "skf_"
SCOPES = ("read", "write", "submit")
#: A scope and the scopes it includes.
IMPLIED = {"read": {"read"}, "write": {"write", "read"}, "submit": {"submit", "read"}}
DEFAULT_DAYS = 90
MAX_DAYS = 366


class TokenError(ValueError):
    """The request for a token is not acceptable; the message says why."""


@dataclass(frozen=True)
class NewToken:
    """A freshly created token: ``secret`` is shown to the user exactly once."""

    token: ApiToken
    secret: str


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def normalize_scopes(scopes: object) -> list[str]:
    if isinstance(scopes, str):
        scopes = scopes.replace(",", " ").split()
    if not isinstance(scopes, (list, tuple, set, frozenset)) or not scopes:
        raise TokenError("choose at least one scope: " + ", ".join(SCOPES))
    unknown = sorted(str(s) for s in scopes if s not in SCOPES)
    if unknown:
        raise TokenError(f"unknown scope {', '.join(unknown)}; use {', '.join(SCOPES)}")
    return [s for s in SCOPES if s in scopes]


def create_token(user: User, name: str, scopes: object, days: int = DEFAULT_DAYS) -> NewToken:
    """Create a token for ``user`` (added to the session; the caller commits)."""
    name = (name or "").strip()
    if not name or len(name) > 64:
        raise TokenError("a token needs a name of 1 to 64 characters")
    try:
        days = int(days)
    except (TypeError, ValueError):
        raise TokenError("expires_in_days must be a whole number of days") from None
    if not 1 <= days <= MAX_DAYS:
        raise TokenError(f"a token expires after 1 to {MAX_DAYS} days")
    scope_list = normalize_scopes(scopes)
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=hash_token(secret),
        prefix=secret[len(PREFIX):len(PREFIX) + 6],
        scopes=" ".join(scope_list),
        created_at=utcnow(),
        expires_at=utcnow() + timedelta(days=days),
    )
    db.session().add(token)
    db.session().flush()
    audit.record("token.create", target=token, actor=user,
                 details={"name": name, "scopes": scope_list, "days": days})
    return NewToken(token, secret)


def tokens_of(user: User) -> list[ApiToken]:
    stmt = select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())
    return list(db.session().scalars(stmt))


def revoke_token(token: ApiToken, *, by: User | None = None) -> None:
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record("token.revoke", target=token, actor=by, details={"name": token.name})


def find_active(secret: str) -> ApiToken | None:
    """The active token for ``secret`` (right prefix, known hash, not revoked or expired,
    owner active), else None."""
    if not secret.startswith(PREFIX) or len(secret) > 128:
        return None
    token = db.session().scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(secret)))
    if token is None or not token.is_active or not token.user.is_active:
        return None
    return token


def grants(token: ApiToken, scope: str) -> bool:
    """Whether ``token`` allows actions that need ``scope``."""
    return any(scope in IMPLIED[s] for s in token.scope_set if s in IMPLIED)
