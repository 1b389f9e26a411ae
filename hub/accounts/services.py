"""Account and organization services: no HTTP here; views, the API and the CLI call these.

Each function validates its input, raises :class:`AccountError` with a message a person can
act on, records an audit event, and leaves committing to the caller.
"""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from hub import audit, db
from hub.accounts.models import ORG_ROLES, ROLES, Membership, Organization, User

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{2,31}$")
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 10
# Names that are, or may become, fixed parts of addresses (/orgs/new, /users/me).
RESERVED_NAMES = frozenset({"new", "me", "api", "static"})


class AccountError(ValueError):
    """A request about accounts that cannot be carried out; ``str(error)`` says why."""

    def __init__(self, message, field: str | None = None) -> None:
        super().__init__(str(message))
        self.field = field


def normalize_username(username: str) -> str:
    return (username or "").strip().lower()


def check_password_strength(password: str, username: str = "") -> None:
    if len(password or "") < MIN_PASSWORD:
        raise AccountError(
            _l("Use at least %(n)d characters for the password.", n=MIN_PASSWORD), "password"
        )
    if username and normalize_username(password) == normalize_username(username):
        raise AccountError(_l("The password must differ from the username."), "password")


def find_user(login: str) -> User | None:
    """The user whose username or email is ``login`` (case-insensitive)."""
    login = (login or "").strip().lower()
    if not login:
        return None
    column = User.email if "@" in login else User.username
    return db.session().scalar(select(User).where(func.lower(column) == login))


def create_user(
    username: str,
    email: str,
    password: str,
    *,
    display_name: str = "",
    role: str = "member",
    locale: str | None = None,
) -> User:
    """Create an account (audit: ``user.register``)."""
    username = normalize_username(username)
    email = (email or "").strip().lower()
    if not USERNAME_RE.match(username) or username in RESERVED_NAMES:
        raise AccountError(
            _l("Usernames are 3 to 32 letters, digits, '-' or '_', starting with a letter or "
               "digit."),
            "username",
        )
    if not EMAIL_RE.match(email) or len(email) > 254:
        raise AccountError(_l("Enter a valid email address."), "email")
    if role not in ROLES:
        raise AccountError(_l("Unknown role."), "role")
    check_password_strength(password, username)
    session = db.session()
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise AccountError(_l("That username is taken."), "username")
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise AccountError(_l("An account with that email already exists."), "email")
    user = User(
        username=username,
        email=email,
        display_name=(display_name or "").strip()[:100],
        role=role,
        locale=locale,
    )
    user.set_password(password)
    session.add(user)
    session.flush()
    audit.record("user.register", target=user, actor=user, details={"role": role})
    return user


def authenticate(login: str, password: str) -> User | None:
    """The active user with these credentials, or None. Audits ``user.login_failed`` on failure.

    Successful logins are audited by the caller once the session is established.
    """
    user = find_user(login)
    if user is not None and user.is_active and user.check_password(password):
        return user
    audit.record(
        "user.login_failed",
        target=user if user is not None else "",
        actor=None,
        details={"login": (login or "")[:64]},
    )
    return None


def change_password(user: User, current: str, new: str) -> None:
    """Replace the password after checking the current one; other sessions are signed out."""
    if not user.check_password(current):
        raise AccountError(_l("The current password is wrong."), "current_password")
    check_password_strength(new, user.username)
    user.set_password(new)
    user.auth_epoch = (user.auth_epoch or 0) + 1
    audit.record("user.password_change", target=user, actor=user)


def set_role(user: User, role: str, *, by: User | None = None) -> None:
    """Give ``user`` a new site role (audit: ``user.role_change``)."""
    if role not in ROLES:
        raise AccountError(_l("Unknown role."), "role")
    if role == user.role:
        return
    old = user.role
    if old == "admin" and db.session().scalar(
        select(func.count()).select_from(User).where(User.role == "admin", User.is_active)
    ) <= 1:
        raise AccountError(_l("The last admin cannot lose the admin role."), "role")
    user.role = role
    audit.record("user.role_change", target=user, actor=by, details={"from": old, "to": role})


def set_active(user: User, active: bool, *, by: User | None = None) -> None:
    """Enable or disable an account; a disabled account cannot sign in."""
    if user.is_active == active:
        return
    if not active and user.is_admin and db.session().scalar(
        select(func.count()).select_from(User).where(User.role == "admin", User.is_active)
    ) <= 1:
        raise AccountError(_l("The last admin cannot be disabled."), "active")
    user.is_active = active
    user.auth_epoch = (user.auth_epoch or 0) + 1
    audit.record("user.enable" if active else "user.disable", target=user, actor=by)


def update_profile(user: User, *, display_name: str, bio: str) -> None:
    user.display_name = (display_name or "").strip()[:100]
    user.bio = (bio or "").strip()[:2000]


# --- organizations ---------------------------------------------------------------------------


def create_organization(
    owner: User, slug: str, name: str, *, description: str = "", is_vendor: bool = False
) -> Organization:
    """Create an organization owned (and joined) by ``owner`` (audit: ``org.create``)."""
    slug = (slug or "").strip().lower()
    name = (name or "").strip()
    if not SLUG_RE.match(slug) or slug in RESERVED_NAMES:
        raise AccountError(
            _l("Short names are 2 to 40 lowercase letters, digits or '-'."), "slug"
        )
    if not name or len(name) > 100:
        raise AccountError(_l("Give the organization a name (up to 100 characters)."), "name")
    session = db.session()
    if session.scalar(select(Organization.id).where(Organization.slug == slug)) is not None:
        raise AccountError(_l("That short name is taken."), "slug")
    org = Organization(
        slug=slug, name=name, description=(description or "").strip()[:2000],
        is_vendor=is_vendor, owner_id=owner.id,
    )
    session.add(org)
    session.flush()
    session.add(Membership(user_id=owner.id, organization_id=org.id, role="owner"))
    audit.record("org.create", target=org, actor=owner, details={"slug": slug})
    return org


def membership(user: User | None, org: Organization) -> Membership | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return db.session().scalar(
        select(Membership).where(
            Membership.user_id == user.id, Membership.organization_id == org.id
        )
    )


def can_manage_org(user: User | None, org: Organization) -> bool:
    """Owners of the organization and site admins manage its members."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if user.is_admin:
        return True
    m = membership(user, org)
    return m is not None and m.role == "owner"


def add_member(org: Organization, user: User, role: str = "member", *, by: User | None = None):
    """Add ``user`` to ``org`` (audit: ``org.member_add``)."""
    if role not in ORG_ROLES:
        raise AccountError(_l("Unknown organization role."), "role")
    if membership(user, org) is not None:
        raise AccountError(_l("%(name)s is already a member.", name=user.username), "username")
    m = Membership(user_id=user.id, organization_id=org.id, role=role)
    db.session().add(m)
    audit.record(
        "org.member_add", target=org, actor=by, details={"user": user.username, "role": role}
    )
    return m


def remove_member(org: Organization, user: User, *, by: User | None = None) -> None:
    """Remove ``user`` from ``org``; the owner stays (audit: ``org.member_remove``)."""
    m = membership(user, org)
    if m is None:
        raise AccountError(_l("%(name)s is not a member.", name=user.username), "username")
    if user.id == org.owner_id:
        raise AccountError(_l("The owner cannot be removed from the organization."), "username")
    db.session().delete(m)
    audit.record("org.member_remove", target=org, actor=by, details={"user": user.username})


def organizations_of(user: User) -> list[Organization]:
    return list(
        db.session().scalars(
            select(Organization)
            .join(Membership, Membership.organization_id == Organization.id)
            .where(Membership.user_id == user.id)
            .order_by(Organization.name)
        )
    )
