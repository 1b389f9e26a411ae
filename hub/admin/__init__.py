"""Administration (role ``admin`` only): users and roles, organizations, the moderation queue,
the audit log and background jobs; plus the report form everyone uses.

Pages live under ``/admin``; see ``hub.admin.moderation`` for making content reportable.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from hub.admin import views

    app.register_blueprint(views.bp)
    app.register_blueprint(views.reports_bp)
    app.jinja_env.globals["admin_links"] = views.admin_links
