"""Model zoo services: publish versions, resolve and download them, list and search models,
likes, comments and references (no HTTP here; the views, the API, the CLI and other
features call these).

What other features use::

    from hub.zoo import services as zoo

    # Publish a folder (README.md card, .safetensors weights, a fw.jit.save program or
    # model.py) as the next version of owner/name; unchanged folders are not published twice.
    version = zoo.publish_model_dir("ada", "digits-mlp", Path("contrib/models/digits_mlp"),
                                    "Trained for 20 epochs")
    zoo.find_model("ada", "digits-mlp")           # ZooModel or None
    zoo.model_url(model)                           # its page

    # "Used in" links: say that a notebook or leaderboard entry uses a model.
    zoo.register_reference_kind("notebook", _l("Notebook"), visible=ids_viewer_may_see)
    zoo.add_reference("ada/digits-mlp", "notebook", nb.id, title=nb.title, url=url)
    zoo.sync_references("notebook", nb.id, title, url, text,   # every owner/name in text
                        viewer=nb.owner)                        # ... that the owner can see
    zoo.remove_references("notebook", nb.id)
    zoo.references_to(model, viewer)              # [ModelReference] viewer may see

Every function raises :class:`ModelError` with a message for people when the input is wrong;
nothing is stored then (files are staged as blobs first; one transaction creates the version;
an orphan blob is harmless and shared by content).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from flask import current_app, url_for
from flask_babel import gettext as _
from sqlalchemy import bindparam, false, func, or_, select, true, update

from hub import audit, db, search
from hub.accounts.models import Membership, Organization, User
from hub.db import utcnow
from hub.zoo import card as cards
from hub.zoo import files as zfiles
from hub.zoo.models import (
    ModelComment,
    ModelFile,
    ModelLike,
    ModelReference,
    ModelTag,
    ModelVersion,
    ZooModel,
)

DEFAULT_MAX_FILE_BYTES = 256 * 1024 * 1024
DEFAULT_MAX_VERSION_BYTES = 1024 * 1024 * 1024
MAX_TEXT_BYTES = 2 * 1024 * 1024
#: Time constant of the trending score: activity a week old counts e^-1 as much.
TREND_TAU_DAYS = 7.0
_TREND_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
TAG_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$")
REF_RE = re.compile(r"\b([a-z0-9][a-z0-9_-]{1,39})/([A-Za-z0-9][A-Za-z0-9_.-]{0,99})\b")
SORTS = ("trending", "downloads", "likes", "recent")


class ModelError(ValueError):
    """A request the zoo refuses; ``status`` is the HTTP status that fits it."""

    def __init__(self, message: str, status: int = 400, code: str = "invalid_model",
                 problems: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.problems = problems or [message]


def max_file_bytes() -> int:
    return int(current_app.config.get("ZOO_MAX_FILE_BYTES", DEFAULT_MAX_FILE_BYTES))


def max_version_bytes() -> int:
    return int(current_app.config.get("ZOO_MAX_VERSION_BYTES", DEFAULT_MAX_VERSION_BYTES))


# --- owners and permissions -------------------------------------------------------------------


def find_namespace(namespace: str) -> User | Organization | None:
    """The user or organization whose username or slug is ``namespace``."""
    session = db.session()
    key = (namespace or "").strip().lower()
    user = session.scalar(select(User).where(User.username == key))
    if user is not None:
        return user
    return session.scalar(select(Organization).where(Organization.slug == key))


def can_push(user: Any, owner: User | Organization | None) -> bool:
    """True if ``user`` may publish under ``owner`` (themselves, their organizations; admins)."""
    if owner is None or user is None or not getattr(user, "is_authenticated", False):
        return False
    if getattr(user, "is_admin", False):
        return True
    if isinstance(owner, User):
        return owner.id == user.id
    return db.session().scalar(select(Membership.id).where(
        Membership.user_id == user.id, Membership.organization_id == owner.id)) is not None


def can_manage(model: ZooModel | None, user: Any) -> bool:
    """True if ``user`` may push to, tag or change ``model``."""
    from hub.security import can_manage as manage

    return model is not None and manage(model, user)


def can_view(model: ZooModel | None, user: Any) -> bool:
    """Public, unhidden models are seen by everyone; others by their owners and admins."""
    if model is None:
        return False
    return model.listed or can_manage(model, user)


def find_model(namespace: str, name: str) -> ZooModel | None:
    return db.session().scalar(select(ZooModel).where(
        ZooModel.namespace == (namespace or "").strip().lower(), ZooModel.name == name))


def find_model_and_latest(namespace: str, name: str) -> tuple[ZooModel | None,
                                                               ModelVersion | None]:
    """The model and its latest version (None without versions) in one query: a model's
    page needs both."""
    found = db.session().execute(_MODEL_AND_LATEST, {
        "namespace": (namespace or "").strip().lower(), "name": name}).first()
    return (found[0], found[1]) if found is not None else (None, None)


# The model page's queries, built once (building a statement costs about as much as running
# one of these small queries).
_MODEL_AND_LATEST = (
    select(ZooModel, ModelVersion)
    .outerjoin(ModelVersion, (ModelVersion.model_id == ZooModel.id)
               & (ModelVersion.number == ZooModel.latest_number))
    .where(ZooModel.namespace == bindparam("namespace"), ZooModel.name == bindparam("name")))
_VERSION_ROWS = (
    select(ModelVersion.id, ModelVersion.number, ModelVersion.message, ModelVersion.created_at,
           ModelVersion.total_size, ModelVersion.validation_status)
    .where(ModelVersion.model_id == bindparam("model_id"))
    .order_by(ModelVersion.number.desc()).limit(bindparam("limit")))
_FILE_ROWS = (select(ModelFile.path, ModelFile.size, ModelFile.digest)
              .where(ModelFile.version_id == bindparam("version_id")).order_by(ModelFile.path))
_TAG_ROWS = (select(ModelTag.version_id, ModelTag.name)
             .where(ModelTag.model_id == bindparam("model_id")).order_by(ModelTag.name))


def model_url(model: ZooModel, **params: Any) -> str:
    return url_for("zoo.model", namespace=model.namespace, name=model.name, **params)


# --- staging files -------------------------------------------------------------------------------


@dataclass(frozen=True)
class StagedFile:
    """A file stored as a blob, waiting to become part of a version."""

    path: str
    digest: str
    size: int


def stage_file(path: str, source: bytes | BinaryIO | os.PathLike | str) -> StagedFile:
    """Store one file's bytes as a blob (size-checked while streaming); no rows are written."""
    from hub.infra.storage import BlobTooLarge, get_storage

    path = _checked_path(path)
    limit = max_file_bytes()
    try:
        if isinstance(source, (str, os.PathLike)):
            with open(source, "rb") as fh:
                digest = get_storage().put(fh, max_size=limit)
        else:
            digest = get_storage().put(source, max_size=limit)
    except BlobTooLarge:
        raise ModelError(_("%(path)s is larger than the limit of %(limit)s per file.",
                           path=path, limit=_size_text(limit)), 413, "too_large") from None
    return StagedFile(path, digest, get_storage().size(digest))


def _checked_path(path: str) -> str:
    try:
        return zfiles.normalize_path(path)
    except zfiles.FileRefused as err:
        raise ModelError(str(err), 400, "bad_path") from None


def _size_text(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:g} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def receipt(user_id: int, digest: str) -> str:
    """Proof that ``user_id`` uploaded the blob ``digest`` (so a commit can only name blobs its
    author sent, never guess another model's private file by its hash)."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"zoo-upload:{user_id}:{digest}".encode(), hashlib.sha256).hexdigest()


def check_receipt(user_id: int, digest: str, value: str) -> bool:
    return hmac.compare_digest(receipt(user_id, digest), str(value or ""))


# --- checking a version's files ----------------------------------------------------------------


@dataclass
class CheckedVersion:
    card: dict[str, Any]
    readme: str
    architecture: str
    program_dir: str
    kinds: dict[str, str]
    total: int


def check_files(staged: list[StagedFile]) -> CheckedVersion:
    """Check a whole version (card, every file, architecture, sizes); raise
    :class:`ModelError` listing every problem."""
    from hub.infra.storage import get_storage

    storage = get_storage()
    problems: list[str] = []
    if not staged:
        raise ModelError(_("A version needs files: README.md, weights (.safetensors) and the "
                           "architecture (graph.json from fw.jit.save, or model.py)."))
    if len(staged) > zfiles.MAX_FILES:
        raise ModelError(_("A version holds at most %(n)s files.", n=zfiles.MAX_FILES))
    paths = [f.path for f in staged]
    if len(set(paths)) != len(paths):
        raise ModelError(_("Each file name may appear once."))
    total = sum(f.size for f in staged)
    if total > max_version_bytes():
        raise ModelError(_("The version is %(size)s, more than the limit of %(limit)s.",
                           size=_size_text(total), limit=_size_text(max_version_bytes())),
                         413, "too_large")
    kinds: dict[str, str] = {}
    readme = ""
    graphs: dict[str, dict] = {}
    for f in staged:
        if f.size > max_file_bytes():
            problems.append(_("%(path)s is larger than the limit of %(limit)s per file.",
                              path=f.path, limit=_size_text(max_file_bytes())))
            continue
        try:
            with storage.open(f.digest) as fh:
                head = fh.read(16)
            kind = zfiles.classify(f.path, head)
            if kind == "weights":
                with storage.open(f.digest) as fh:
                    zfiles.check_safetensors(f.path, fh, f.size)
            else:
                if f.size > MAX_TEXT_BYTES:
                    raise zfiles.FileRefused(_("%(path)s is a text file larger than %(limit)s.",
                                               path=f.path, limit=_size_text(MAX_TEXT_BYTES)))
                data = storage.read_bytes(f.digest)
                if kind == "program":
                    graphs[os.path.dirname(f.path)] = zfiles.check_program(f.path, data)
                else:
                    text = zfiles.check_text(f.path, data)
                    if kind == "card":
                        readme = text
            kinds[f.path] = kind
        except zfiles.FileRefused as err:
            problems.append(str(err))
    card: dict[str, Any] = {}
    if "README.md" not in paths:
        problems.append(_("README.md (the model card) is missing."))
    elif readme or "README.md" in kinds:
        try:
            card = cards.parse_card(readme)
        except cards.CardError as err:
            problems.extend(_("README.md: %(problem)s", problem=p) for p in err.problems)
    architecture, program_dir = "", ""
    complete = [d for d in sorted(graphs)
                if (f"{d}/weights.safetensors" if d else "weights.safetensors") in kinds]
    if complete:
        architecture, program_dir = "program", complete[0]
    elif kinds.get("model.py") == "module":
        architecture = "module"
        if not any(k == "weights" and "/" not in p for p, k in kinds.items()):
            problems.append(_("model.py needs the weights as a .safetensors file next to it."))
    elif graphs:
        problems.append(_("graph.json needs weights.safetensors in the same folder (fw.jit.save "
                          "writes both)."))
    else:
        problems.append(_("The architecture is missing: add a saved program (the folder "
                          "fw.jit.save writes: graph.json and weights.safetensors) or model.py "
                          "with build_model()."))
    if problems:
        raise ModelError(problems[0] if len(problems) == 1 else
                         _("The version was refused: %(problems)s",
                           problems="; ".join(problems)), 400, "invalid_model", problems)
    body = card.pop("body", "")
    return CheckedVersion(card, body, architecture, program_dir, kinds, total)


# --- publishing ---------------------------------------------------------------------------------


def _owner_fields(owner: User | Organization) -> dict[str, Any]:
    if isinstance(owner, User):
        return {"namespace": owner.username, "owner_id": owner.id, "organization_id": None}
    return {"namespace": owner.slug, "owner_id": None, "organization_id": owner.id}


def publish(user: Any, namespace: str, name: str, staged: list[StagedFile], message: str, *,
            is_public: bool | None = None, tag: str | None = None,
            validate: bool = True) -> ModelVersion:
    """Create the next version of ``namespace/name`` from staged files, in one transaction.

    The model is created if it does not exist yet (``user`` must be the namespace's user or a
    member of its organization). Checks everything first; commits; then queues validation.
    """
    name = (name or "").strip()
    if not NAME_RE.match(name):
        raise ModelError(_("A model name is 1 to 100 letters, digits, '_', '-' or '.', starting "
                           "with a letter or digit."), 400, "bad_name")
    message = (message or "").strip()
    if not message:
        raise ModelError(_("Describe this version in a message (-m \"…\")."), 400,
                         "missing_message")
    if tag is not None and not TAG_RE.match(tag):
        raise ModelError(_("A tag is a short name such as v1.0."), 400, "bad_tag")
    owner = find_namespace(namespace)
    model = find_model(namespace, name)
    if model is not None and not can_view(model, user):
        raise ModelError(_("No such model, or you may not publish to it."), 404, "not_found")
    if model is not None and not can_manage(model, user):
        raise ModelError(_("Only the model's owners may publish new versions."), 403,
                         "forbidden")
    if model is None and not can_push(user, owner):
        raise ModelError(_("You may publish only under your own name or an organization you "
                           "belong to."), 403, "forbidden")
    checked = check_files(staged)  # reads blobs: before the write transaction starts
    session = db.session()
    if model is None:
        model = ZooModel(name=name, is_public=True if is_public is None else bool(is_public),
                         **_owner_fields(owner))
        session.add(model)
    elif is_public is not None:
        model.is_public = bool(is_public)
    number = (model.latest_number or 0) + 1
    version = ModelVersion(
        model=model, number=number, message=message[:5000],
        card={**checked.card, "readme": checked.readme},
        readme_html=cards.stored_html(checked.readme), architecture=checked.architecture,
        program_dir=checked.program_dir, total_size=checked.total,
        created_by_id=getattr(user, "id", None), validation_status="queued",
    )
    session.add(version)
    for f in staged:
        version.files.append(ModelFile(path=f.path, digest=f.digest, size=f.size,
                                       kind=checked.kinds[f.path]))
    card = checked.card
    model.latest_number = number
    model.task = card.get("task", "")[:64]
    model.license = card.get("license", "")[:64]
    model.tags = (" " + " ".join(card.get("tags", [])) + " ")[:600] if card.get("tags") else ""
    model.summary = cards.summary_of({**card, "body": checked.readme})
    model.verified = False
    model.validation_status = "queued"
    model.updated_at = utcnow()
    session.flush()
    if tag:
        _set_tag(model, tag, version)
    audit.record("model.upload", target=f"model:{model.id}", actor=user,
                 details={"model": model.full_name, "version": number,
                          "files": len(staged), "size": checked.total})
    reindex(model)
    session.commit()
    if validate:
        request_validation(version)
    return version


def publish_model_dir(owner: Any, repo_name: str, folder: str | os.PathLike, message: str, *,
                      is_public: bool = True, tag: str | None = None) -> ModelVersion:
    """Publish every file under ``folder`` as the next version of ``owner/repo_name``.

    ``owner`` is a :class:`User`, an :class:`Organization` or a username / organization slug;
    the version is published as that user (for an organization: as its owner). If the
    latest version already holds exactly these files (same paths and bytes), nothing is
    published and that version is returned, so calling this on every start is safe.
    Needs an app context; commits; queues the validation job. Raises :class:`ModelError`.
    """
    if isinstance(owner, str):
        found = find_namespace(owner)
        if found is None:
            raise ModelError(_("No user or organization is called %(name)s.", name=owner), 404,
                             "not_found")
        owner = found
    actor = owner if isinstance(owner, User) else owner.owner
    namespace = owner.username if isinstance(owner, User) else owner.slug
    root = Path(folder)
    paths = sorted(p for p in root.rglob("*") if p.is_file() and not any(
        part.startswith((".", "__pycache__")) for part in p.relative_to(root).parts))
    wanted = {}
    for p in paths:
        rel = p.relative_to(root).as_posix()
        wanted[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    model = find_model(namespace, repo_name)
    if model is not None and model.latest_number:
        latest = latest_version(model)
        if latest is not None and {f.path: f.digest for f in latest.files} == wanted:
            return latest
    staged = [stage_file(rel, root / rel) for rel in wanted]
    return publish(actor, namespace, repo_name, staged, message, is_public=is_public, tag=tag)


def request_validation(version: ModelVersion):
    """Queue the sandboxed validation of ``version`` (see :mod:`hub.zoo.validation`)."""
    from hub.infra import jobs

    job = jobs.enqueue("zoo_validate", {"version_id": version.id},
                       owner=version.created_by_id)
    session = db.session()
    # The job may have run already (immediate mode) in a session of its own: re-read.
    session.refresh(version)
    session.refresh(version.model)
    if version.validation_job_id is None:
        version.validation_job_id = job.id
    session.commit()
    return job


def reindex(model: ZooModel) -> None:
    search.index("model", model.id, title=model.full_name, url=model_url(model),
                 description=model.summary, tags=model.tag_list + ([model.task] if model.task
                                                                     else []),
                 visible=model.listed)


# --- versions and tags --------------------------------------------------------------------------


def latest_version(model: ZooModel) -> ModelVersion | None:
    return db.session().scalar(select(ModelVersion).where(
        ModelVersion.model_id == model.id, ModelVersion.number == model.latest_number))


def versions_of(model: ZooModel, limit: int = 200) -> list:
    """The newest versions as rows of what a version list shows (``id``, ``number``,
    ``message``, ``created_at``, ``total_size``, ``validation_status``): no cards, files or
    validation details, which are most of the cost of loading a long version list."""
    return list(db.session().execute(_VERSION_ROWS, {"model_id": model.id, "limit": limit}))


def files_of(version: ModelVersion) -> list:
    """A version's files as rows of ``path``, ``size`` and ``digest``, by path: what its page
    shows, without loading ``version.files`` as objects."""
    return list(db.session().execute(_FILE_ROWS, {"version_id": version.id}))


def tags_of(model: ZooModel) -> dict[int, list[str]]:
    """Tag names by version id."""
    out: dict[int, list[str]] = {}
    for version_id, name in db.session().execute(_TAG_ROWS, {"model_id": model.id}):
        out.setdefault(version_id, []).append(name)
    return out


def resolve_version(model: ZooModel, ref: str | int | None) -> ModelVersion | None:
    """The version named by ``ref``: a number (``3``), a tag (``v1.0``), or latest (None,
    ``""``, ``"latest"``, ``"main"``)."""
    session = db.session()
    if ref is None or str(ref) in ("", "latest", "main"):
        return latest_version(model)
    text = str(ref)
    if text.isdigit():
        if len(text) > 9:
            return None
        return session.scalar(select(ModelVersion).where(
            ModelVersion.model_id == model.id, ModelVersion.number == int(text)))
    tag = session.scalar(select(ModelTag).where(ModelTag.model_id == model.id,
                                                ModelTag.name == text))
    return tag.version if tag is not None else None


def _set_tag(model: ZooModel, name: str, version: ModelVersion) -> ModelTag:
    session = db.session()
    existing = session.scalar(select(ModelTag).where(ModelTag.model_id == model.id,
                                                     ModelTag.name == name))
    if existing is not None:
        raise ModelError(_("The tag %(tag)s already names version %(n)s; tags are never moved.",
                           tag=name, n=existing.version.number), 409, "tag_exists")
    tag = ModelTag(model_id=model.id, name=name, version_id=version.id)
    session.add(tag)
    return tag


def add_tag(model: ZooModel, name: str, version: ModelVersion, by: Any) -> ModelTag:
    """Name ``version`` with the tag ``name`` (tags, like versions, never change); commits."""
    if not TAG_RE.match(name or "") or name.isdigit() or name in ("latest", "main"):
        raise ModelError(_("A tag is a short name such as v1.0."), 400, "bad_tag")
    tag = _set_tag(model, name, version)
    audit.record("model.tag", target=f"model:{model.id}", actor=by,
                 details={"tag": name, "version": version.number})
    db.session().commit()
    return tag


def find_file(version: ModelVersion, path: str) -> ModelFile | None:
    return db.session().scalar(select(ModelFile).where(ModelFile.version_id == version.id,
                                                       ModelFile.path == path))


def record_download(model_id: int) -> None:
    """Count one download (in a transaction of its own, so reads stay reads)."""
    from hub.db import get_database

    database = get_database()
    with database.writing() as session:
        current = session.scalar(select(ZooModel.trend).where(ZooModel.id == model_id)) or 0.0
        session.execute(update(ZooModel).where(ZooModel.id == model_id).values(
            downloads=ZooModel.downloads + 1, trend=_bump(current)))
        session.commit()


def _now_score() -> float:
    return (utcnow() - _TREND_EPOCH).total_seconds() / (TREND_TAU_DAYS * 86400)


def _bump(trend: float, weight: float = 1.0) -> float:
    """log(exp(trend) + weight·exp(now/τ)) without overflow."""
    new = _now_score() + math.log(weight)
    if not trend:
        return new
    high, low = max(trend, new), min(trend, new)
    return high + math.log1p(math.exp(low - high))


# --- listing -------------------------------------------------------------------------------------


def _escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_models(viewer: Any, *, q: str | None = None, task: str | None = None,
                tag: str | None = None, license: str | None = None,  # noqa: A002
                verified: bool | None = None, sort: str = "trending", owner: str | None = None):
    """A SELECT of the models ``viewer`` may see, filtered and sorted (paginate it)."""
    shape, params = _list_shape(viewer, q, task, tag, license, verified, sort, owner)
    return _list_statement(shape).params(params)


def list_page(viewer: Any, *, q: str | None = None, task: str | None = None,
              tag: str | None = None, license: str | None = None,  # noqa: A002
              verified: bool | None = None, sort: str = "trending", limit: int = 20,
              offset: int = 0) -> list[ZooModel]:
    """One page of :func:`list_models`: the same SELECT, run with bound parameters from a
    statement built once per combination of filters (building and keying a statement cost
    about as much as running it)."""
    shape, params = _list_shape(viewer, q, task, tag, license, verified, sort, None)
    stmt = _list_statement(shape, paged=True)
    return list(db.session().scalars(stmt, {**params, "limit": limit, "offset": offset}))


def _list_shape(viewer: Any, q, task, tag, license, verified, sort, owner):  # noqa: A002
    """Which filters apply (the statement's shape) and their values (its parameters)."""
    from hub.security import user_org_ids

    params: dict[str, Any] = {}
    who = "anonymous"
    if getattr(viewer, "is_authenticated", False):
        if getattr(viewer, "is_admin", False):
            who = "admin"
        else:
            who = "user"
            params["viewer_id"] = viewer.id
            orgs = user_org_ids(viewer)
            if orgs:
                who = "member"
                params["orgs"] = sorted(orgs)
    terms = q.lower().split()[:6] if q else []
    for i, term in enumerate(terms):
        params[f"term{i}"] = f"%{_escape_like(term)}%"
    if task:
        params["task"] = task.lower()
    if tag:
        params["tag"] = f"% {_escape_like(tag.lower())} %"
    if license:
        params["license"] = license.lower()
    if owner:
        params["owner"] = owner.lower()
    shape = (who, len(terms), bool(task), bool(tag), bool(license), verified,
             sort if sort in SORTS else "trending", bool(owner))
    return shape, params


_LIST_STATEMENTS: dict[tuple, Any] = {}


def _list_statement(shape: tuple, paged: bool = False):
    """The SELECT of one shape of :func:`_list_shape`, with bound parameters; built once."""
    key = (shape, paged)
    stmt = _LIST_STATEMENTS.get(key)
    if stmt is not None:
        return stmt
    who, n_terms, task, tag, license, verified, sort, owner = shape  # noqa: A001
    stmt = select(ZooModel)
    # "= true" (not "IS 1") so that SQLite uses the listing indexes, which lead with these.
    listed = (ZooModel.is_public == true()) & (ZooModel.is_hidden == false())
    if who == "user":
        stmt = stmt.where(or_(listed, ZooModel.owner_id == bindparam("viewer_id")))
    elif who == "member":
        stmt = stmt.where(or_(listed, ZooModel.owner_id == bindparam("viewer_id"),
                              ZooModel.organization_id.in_(bindparam("orgs", expanding=True))))
    elif who == "anonymous":
        stmt = stmt.where(listed)
    for i in range(n_terms):
        pattern = bindparam(f"term{i}")
        stmt = stmt.where(or_(
            func.lower(ZooModel.namespace + "/" + ZooModel.name).like(pattern, escape="\\"),
            func.lower(ZooModel.summary).like(pattern, escape="\\"),
            ZooModel.tags.like(pattern, escape="\\"),
            ZooModel.task.like(pattern, escape="\\"),
        ))
    if task:
        stmt = stmt.where(ZooModel.task == bindparam("task"))
    if tag:
        stmt = stmt.where(ZooModel.tags.like(bindparam("tag"), escape="\\"))
    if license:
        stmt = stmt.where(ZooModel.license == bindparam("license"))
    if verified is not None:
        stmt = stmt.where(ZooModel.verified == (true() if verified else false()))
    if owner:
        stmt = stmt.where(ZooModel.namespace == bindparam("owner"))
    order = {
        "downloads": (ZooModel.downloads.desc(), ZooModel.id.desc()),
        "likes": (ZooModel.likes.desc(), ZooModel.id.desc()),
        "recent": (ZooModel.updated_at.desc(), ZooModel.id.desc()),
        "trending": (ZooModel.trend.desc(), ZooModel.id.desc()),
    }[sort]
    stmt = stmt.order_by(*order)
    if paged:
        stmt = stmt.limit(bindparam("limit")).offset(bindparam("offset"))
    _LIST_STATEMENTS[key] = stmt
    return stmt


_FACETS: dict[int, tuple[float, dict[str, list[str]]]] = {}
FACETS_TTL = 60.0


def facet_values() -> dict[str, list[str]]:
    """Tasks and licenses in use among public models (for the filter menus); computed at
    most once a minute per app, since it reads every model."""
    import time

    from flask import current_app

    key = id(current_app._get_current_object())
    cached = _FACETS.get(key)
    if cached is not None and time.monotonic() - cached[0] < FACETS_TTL:
        return cached[1]
    session = db.session()
    listed = (ZooModel.is_public == true(), ZooModel.is_hidden == false())
    tasks = session.scalars(select(ZooModel.task).where(*listed, ZooModel.task != "")
                            .group_by(ZooModel.task).order_by(ZooModel.task).limit(50))
    licenses = session.scalars(select(ZooModel.license).where(*listed, ZooModel.license != "")
                               .group_by(ZooModel.license).order_by(ZooModel.license)
                               .limit(50))
    value = {"tasks": list(tasks), "licenses": list(licenses)}
    _FACETS[key] = (time.monotonic(), value)
    return value


# --- likes, comments and moderation --------------------------------------------------------------


def likes(model: ZooModel, user: Any) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    return db.session().get(ModelLike, (model.id, user.id)) is not None


def set_like(model: ZooModel, user: Any, like: bool) -> None:
    """Like or unlike; keeps the model's like count and trending score; commits."""
    session = db.session()
    existing = session.get(ModelLike, (model.id, user.id))
    if like and existing is None:
        session.add(ModelLike(model_id=model.id, user_id=user.id))
        model.likes = (model.likes or 0) + 1
        model.trend = _bump(model.trend or 0.0, 2.0)
    elif not like and existing is not None:
        session.delete(existing)
        model.likes = max(0, (model.likes or 0) - 1)
    session.commit()


def add_comment(model: ZooModel, author: Any, body: str) -> ModelComment:
    body = (body or "").strip()
    if not body:
        raise ModelError(_("Write something first."), 400, "empty_comment")
    if len(body) > 5000:
        raise ModelError(_("A comment is at most 5000 characters."), 400, "too_long")
    comment = ModelComment(model_id=model.id, author_id=author.id, body=body)
    db.session().add(comment)
    db.session().commit()
    return comment


def visible_comments(model: ZooModel, viewer: Any) -> list[ModelComment]:
    """The model's first 500 comments; hidden ones only for admins."""
    stmt = _ALL_COMMENTS if getattr(viewer, "is_admin", False) else _SHOWN_COMMENTS
    return list(db.session().scalars(stmt, {"model_id": model.id}))


_ALL_COMMENTS = (select(ModelComment).where(ModelComment.model_id == bindparam("model_id"))
                 .order_by(ModelComment.created_at, ModelComment.id).limit(500))
_SHOWN_COMMENTS = _ALL_COMMENTS.where(ModelComment.is_hidden.is_(False))


def set_hidden(model: ZooModel, hidden: bool) -> None:
    model.is_hidden = bool(hidden)
    reindex(model)


def delete_model(model: ZooModel, by: Any) -> None:
    """Delete a model with all its versions (blobs stay: they may be shared); commits."""
    session = db.session()
    audit.record("model.delete", target=f"model:{model.id}", actor=by,
                 details={"model": model.full_name})
    search.remove("model", model.id)
    session.delete(model)
    session.commit()


# --- references ("used in") ---------------------------------------------------------------------


@dataclass(frozen=True)
class ReferenceKind:
    """A kind of thing that can use a model: its label (translatable) and, optionally, which
    of its ids a viewer may see (``visible(ref_ids, viewer) -> set of ref_ids``)."""

    label: Any
    visible: Any = None


#: Kinds registered by the features that record references (``register_reference_kind``).
REFERENCE_KINDS: dict[str, ReferenceKind] = {}
#: Most distinct ``owner/name`` candidates looked up in one text.
MAX_MENTIONS = 500


def register_reference_kind(kind: str, label: Any, visible: Any = None) -> None:
    """Declare a kind of reference (``"notebook"``) with its label; ``visible(ref_ids,
    viewer)`` returns the ids ``viewer`` may see, so a model page never lists a private
    notebook to someone who cannot open it."""
    REFERENCE_KINDS[kind] = ReferenceKind(label, visible)


def reference_label(kind: str) -> str:
    """The label of a reference kind in the reader's language (the kind itself if unknown)."""
    entry = REFERENCE_KINDS.get(kind)
    return str(entry.label) if entry is not None else kind


def add_reference(model: ZooModel | str, kind: str, ref_id: Any, *, title: str,
                  url: str) -> ModelReference | None:
    """Record that ``kind``/``ref_id`` (a notebook, a leaderboard entry) uses ``model``
    (a model or ``"owner/name"``); the caller commits. None when no such model exists."""
    if isinstance(model, str):
        namespace, _sep, name = model.partition("/")
        model = find_model(namespace, name)
        if model is None:
            return None
    session = db.session()
    ref = session.scalar(select(ModelReference).where(
        ModelReference.model_id == model.id, ModelReference.kind == kind,
        ModelReference.ref_id == str(ref_id)))
    if ref is None:
        ref = ModelReference(model_id=model.id, kind=kind[:32], ref_id=str(ref_id)[:64],
                             title=title[:200], url=url[:500])
        session.add(ref)
    else:
        ref.title, ref.url = title[:200], url[:500]
    return ref


def remove_references(kind: str, ref_id: Any) -> None:
    """Forget every model reference of ``kind``/``ref_id``; the caller commits."""
    session = db.session()
    for ref in session.scalars(select(ModelReference).where(
            ModelReference.kind == kind, ModelReference.ref_id == str(ref_id))):
        session.delete(ref)


def retitle_references(kind: str, ref_id: Any, *, title: str, url: str) -> None:
    """Give every reference of ``kind``/``ref_id`` a new title and link (a renamed
    notebook); the caller commits."""
    db.session().execute(update(ModelReference).where(
        ModelReference.kind == kind, ModelReference.ref_id == str(ref_id))
        .values(title=title[:200], url=url[:500]))


def mentioned_models(text: str, viewer: Any = None) -> list[ZooModel]:
    """Models named as ``owner/name`` in ``text`` (for example a notebook's source), sorted
    by name. Only existing models count (a path like ``data/train.csv`` names none); with
    ``viewer``, only models that person may see."""
    pairs: set[tuple[str, str]] = set()
    for match in REF_RE.finditer(text or ""):
        pairs.add((match.group(1), match.group(2).rstrip(".")))
        if len(pairs) >= MAX_MENTIONS:
            break
    if not pairs:
        return []
    found: dict[tuple[str, str], ZooModel] = {}
    session = db.session()
    ordered = sorted(pairs)
    for start in range(0, len(ordered), 100):
        chunk = ordered[start:start + 100]
        stmt = select(ZooModel).where(ZooModel.namespace.in_(sorted({n for n, _m in chunk})),
                                      ZooModel.name.in_(sorted({m for _n, m in chunk})))
        for model in session.scalars(stmt):
            key = (model.namespace, model.name)
            if key in pairs and (viewer is None or can_view(model, viewer)):
                found[key] = model
    return [found[key] for key in sorted(found)]


def sync_references(kind: str, ref_id: Any, title: str, url: str, text: str,
                    viewer: Any = None) -> list[ZooModel]:
    """Make the references of ``kind``/``ref_id`` exactly the models ``text`` names (only
    those ``viewer`` may see, when given); the caller commits. Returns those models."""
    remove_references(kind, ref_id)
    db.session().flush()
    models = mentioned_models(text, viewer)
    for model in models:
        add_reference(model, kind, ref_id, title=title, url=url)
    return models


# Built once, like the model page's other queries (_MODEL_AND_LATEST and the rest).
_REFERENCE_ROWS = (
    select(ModelReference).where(ModelReference.model_id == bindparam("model_id"))
    .order_by(ModelReference.created_at.desc(), ModelReference.id.desc())
    .offset(bindparam("offset")).limit(bindparam("limit")))


def references_to(model: ZooModel, viewer: Any = None, limit: int = 50) -> list[ModelReference]:
    """What uses ``model``, newest first, as ``viewer`` (None: anonymous) may see it: a
    reference whose kind says its notebook or result is private to them is left out."""
    session = db.session()
    shown: list[ModelReference] = []
    offset = 0
    while len(shown) < limit:
        refs = list(session.scalars(_REFERENCE_ROWS, {
            "model_id": model.id, "offset": offset, "limit": limit * 2}))
        offset += len(refs)
        by_kind: dict[str, set[str]] = {}
        for ref in refs:
            by_kind.setdefault(ref.kind, set()).add(ref.ref_id)
        allowed: dict[str, set[str] | None] = {}
        for kind, ids in by_kind.items():
            entry = REFERENCE_KINDS.get(kind)
            allowed[kind] = None if entry is None or entry.visible is None else \
                set(entry.visible(sorted(ids), viewer))
        shown += [r for r in refs if allowed[r.kind] is None or r.ref_id in allowed[r.kind]]
        if len(refs) < limit * 2:
            break
    return shown[:limit]
