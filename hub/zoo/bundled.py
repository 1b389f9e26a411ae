"""The models that ship with Skiff (``contrib/models/*``), published on a site's first start.

Each folder under ``contrib/models/`` is a complete model version (model card ``README.md``,
``model.safetensors`` with ``model.py``, the ``fw.jit.save`` program in ``program/``, and
``train.py``, the script that trained it). :func:`publish_bundled` publishes each one as
``skiff/<name>`` (folder name with ``_`` as ``-``) through
:func:`hub.zoo.services.publish_model_dir`, which leaves a model alone when its latest
version already holds exactly these files — so running it at every start is safe, and a
retrained folder becomes the next version.
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

log = logging.getLogger(__name__)

#: Where the bundled model folders live (the repository's ``contrib/models``).
BUNDLED_MODELS = Path(__file__).resolve().parents[2] / "contrib" / "models"
#: The account that owns the bundled models.
SYSTEM_USER = "skiff"
MESSAGE = "Bundled with Skiff: trained by train.py on data that ships with the framework"


def system_user():
    """The account that owns the bundled models (created without a usable password when
    missing; the caller commits)."""
    from hub import db
    from hub.accounts.models import User
    from hub.accounts.services import create_user

    user = db.session().query(User).filter_by(username=SYSTEM_USER).one_or_none()
    if user is None:
        # Nobody signs in as it: the random password is not kept anywhere.
        user = create_user(SYSTEM_USER, f"{SYSTEM_USER}@localhost.localdomain",
                           secrets.token_urlsafe(32), display_name="Skiff")
    return user


def bundled_folders(root: Path | None = None) -> list[Path]:
    """The model folders under ``root`` (default :data:`BUNDLED_MODELS`): those with a card."""
    root = root or BUNDLED_MODELS
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and (p / "README.md").is_file())


def repo_name(folder: Path) -> str:
    """``digits_cnn`` -> ``digits-cnn``."""
    return folder.name.replace("_", "-")


def publish_bundled(root: Path | None = None) -> list[str]:
    """Publish every bundled model folder as ``skiff/<name>``; returns ``owner/name@version``
    of each model now on the hub. A folder the hub refuses is logged and skipped."""
    from flask import current_app, has_request_context

    if not has_request_context():
        # Publishing builds page links (search index, audit); a seed step runs outside
        # requests, so give it one for the site's root.
        with current_app.test_request_context("/"):
            return publish_bundled(root)
    from hub import db
    from hub.zoo import services

    owner = system_user()
    db.session().commit()
    published = []
    for folder in bundled_folders(root):
        name = repo_name(folder)
        try:
            version = services.publish_model_dir(owner, name, folder, MESSAGE)
        except services.ModelError as err:
            db.session().rollback()
            log.warning("bundled model %s was not published: %s", folder.name, err)
            continue
        published.append(f"{SYSTEM_USER}/{name}@{version.number}")
    return published
