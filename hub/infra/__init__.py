"""Shared infrastructure of the hub: blob storage, background jobs and the sandbox.

* :mod:`hub.infra.storage` — content-addressed blobs (``get_storage()``), local or S3;
* :mod:`hub.infra.jobs` — background jobs on huey with their state in the ``jobs`` table;
* :mod:`hub.infra.sandbox` — running untrusted code under bubblewrap with resource limits.

``init_app`` gives the app its blob store and job queue and the job pages: ``/jobs/<id>``,
``/jobs/<id>.json`` (for the job's owner and admins) and ``/admin/jobs``.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from hub.infra import jobs, storage, views

    storage.init_app(app)
    jobs.init_app(app)
    app.register_blueprint(views.bp)
    views.register_admin_page()
