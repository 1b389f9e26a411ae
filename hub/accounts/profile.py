"""Profile sections: what a person published, taught and submitted, filled in by features.

A feature registers a section once (in its ``init_app``)::

    from hub.accounts.profile import ProfileItem, register_section

    def published_models(user, viewer):
        return [ProfileItem(m.name, url_for("zoo.model", ...), m.summary)
                for m in visible_models_of(user, viewer)]

    register_section("models", _l("Published models"), published_models, order=20)

``items(user, viewer)`` returns what ``viewer`` (maybe anonymous) may see of ``user``'s things;
sections with nothing to show are left out of the page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flask import url_for
from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class ProfileItem:
    """One line of a profile section."""

    title: str
    url: str
    detail: str = ""


@dataclass(order=True)
class ProfileSection:
    order: int
    key: str
    title: object = field(compare=False)
    items: Callable = field(compare=False)


SECTIONS: dict[str, ProfileSection] = {}


def register_section(key: str, title, items: Callable, order: int = 100) -> None:
    """Add (or replace) the profile section ``key``."""
    SECTIONS[key] = ProfileSection(order, key, title, items)


def sections_for(user, viewer) -> list[tuple[ProfileSection, list[ProfileItem]]]:
    """The sections of ``user``'s profile that have something to show ``viewer``."""
    shown = []
    for section in sorted(SECTIONS.values()):
        items = list(section.items(user, viewer) or [])
        if items:
            shown.append((section, items))
    return shown


def _organizations(user, viewer) -> list[ProfileItem]:
    from hub.accounts.services import organizations_of

    return [
        ProfileItem(org.name, url_for("orgs.detail", slug=org.slug), org.slug)
        for org in organizations_of(user)
    ]


register_section("organizations", _l("Organizations"), _organizations, order=90)
