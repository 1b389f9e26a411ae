"""Load models published on a Skiff hub: ``fw.hub.load("owner/name", version=...)``.

>>> import framework as fw
>>> model = fw.hub.load("skiff/digits-cnn", version=1)          # doctest: +SKIP
>>> model(fw.data.Digits(train=False).data).argmax(1)           # doctest: +SKIP

A version's files are downloaded from the hub's API (``/api/v1/models/owner/name/versions/…``)
into a local cache, ``~/.cache/skiff/models/owner/name/<version>/`` (the root is
``$SKIFF_CACHE/models`` when ``SKIFF_CACHE`` is set, or ``cache_dir``). Every file's SHA-256
is checked against what the hub lists, on download and again on each load. A file already in
the cache is re-validated with ``If-None-Match`` (the hub's ETag is the file's SHA-256), so it
is not downloaded twice.

Once a version is cached, loading it pinned (``version=3`` or a tag already seen) makes no
network call at all. With ``version=None`` the hub is asked for its latest version; when the
hub cannot be reached, the newest cached version is used with a warning.

What is returned: for a version whose architecture is a saved static program
(``fw.jit.save``), the :func:`framework.jit.load` program — no code from the download runs.
For a version that ships ``model.py``, importing it runs that code, so it is only done with
``trust_code=True``; the module's ``build_model()`` gets the top-level ``.safetensors``
weights and is put in eval mode.

Only the standard library, NumPy and safetensors are used (``urllib`` for HTTP).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import shutil
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import warnings
from pathlib import Path, PurePosixPath
from typing import Any

__all__ = ["HubError", "cache_root", "download", "load"]

#: The hub asked when neither ``endpoint`` nor ``SKIFF_ENDPOINT`` says otherwise.
DEFAULT_ENDPOINT = "http://127.0.0.1:5000"
#: Written last into a cached version's folder: the version's description from the hub.
MANIFEST = ".skiff-version.json"
_REPO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}/[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$")
_PART = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,99}$")
_CHUNK = 1 << 20


class HubError(RuntimeError):
    """A model could not be found, downloaded, verified or loaded; the message says why."""


class _Offline(HubError):
    """The hub could not be reached (as opposed to answering with an error)."""


def cache_root(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Where downloaded models are kept: ``cache_dir``, else ``$SKIFF_CACHE/models``, else
    ``~/.cache/skiff/models`` (``$XDG_CACHE_HOME`` respected)."""
    if cache_dir is not None:
        return Path(cache_dir)
    if os.environ.get("SKIFF_CACHE"):
        return Path(os.environ["SKIFF_CACHE"]) / "models"
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "skiff" / "models"


def _split_repo(repo: str) -> tuple[str, str]:
    if not isinstance(repo, str) or not _REPO.match(repo):
        raise HubError(f"{repo!r} is not a model address: use 'owner/name'")
    owner, name = repo.split("/")
    return owner, name


def _ref_text(version: int | str | None) -> str | None:
    if version is None:
        return None
    if isinstance(version, bool) or not isinstance(version, (int, str)):
        raise HubError(f"version must be a number or a tag, got {version!r}")
    text = str(version).strip()
    if text == "latest":
        return None
    if not _REF.match(text) or (isinstance(version, int) and version < 1):
        raise HubError(f"{version!r} is not a version: use a number (1, 2, …) or a tag")
    return text


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _safe_relpath(path: Any) -> PurePosixPath:
    rel = PurePosixPath(str(path))
    if (not isinstance(path, str) or rel.is_absolute() or len(rel.parts) > 4
            or not all(_PART.match(p) for p in rel.parts)):
        raise HubError(f"the hub listed an unsafe file name: {path!r}")
    return rel


class _Hub:
    """The few API calls :func:`load` makes, over urllib."""

    def __init__(self, endpoint: str | None, token: str | None, timeout: float) -> None:
        self.endpoint = (endpoint or os.environ.get("SKIFF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip(
            "/")
        if not self.endpoint.startswith(("http://", "https://")):
            raise HubError(f"the hub's address must start with http:// or https://, got "
                           f"{self.endpoint!r}")
        self.token = token if token is not None else os.environ.get("SKIFF_TOKEN")
        self.timeout = timeout

    def _request(self, url: str, headers: dict[str, str] | None = None):
        if not url.startswith(("http://", "https://")):
            url = self.endpoint + url
        req = urllib.request.Request(url, headers={"Accept": "application/json",
                                                   "User-Agent": "skiff-framework",
                                                   **(headers or {})})
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        try:
            return urllib.request.urlopen(req, timeout=self.timeout)  # noqa: S310 - http(s) only
        except urllib.error.HTTPError as err:
            if err.code == 304:
                return err
            detail = ""
            try:
                body = json.loads(err.read().decode("utf-8", "replace") or "{}")
                detail = body.get("message") or body.get("error") or ""
            except (ValueError, AttributeError):
                pass
            if err.code in (401, 403, 404):
                raise HubError(f"{url}: not found or not allowed (HTTP {err.code})"
                               + (f": {detail}" if detail else "")
                               + ("" if self.token else "; set SKIFF_TOKEN for a private model")
                               ) from None
            raise HubError(f"{url}: the hub answered HTTP {err.code}"
                           + (f": {detail}" if detail else "")) from None
        except (urllib.error.URLError, OSError) as err:
            reason = getattr(err, "reason", err)
            raise _Offline(f"cannot reach the hub at {self.endpoint}: {reason}") from None

    def version(self, owner: str, name: str, ref: str | None) -> dict[str, Any]:
        quoted = urllib.parse.quote(ref or "latest", safe="")
        with self._request(f"/api/v1/models/{owner}/{name}/versions/{quoted}") as resp:
            try:
                info = json.loads(resp.read().decode("utf-8"))
            except ValueError:
                raise HubError(f"the hub at {self.endpoint} did not answer with JSON") from None
        if (not isinstance(info, dict) or not isinstance(info.get("number"), int)
                or not isinstance(info.get("files"), list)):
            raise HubError(f"the hub at {self.endpoint} described {owner}/{name} in an unknown "
                           "format")
        return info

    def fetch(self, url: str, target: Path, sha256: str) -> None:
        """Download ``url`` into ``target``; a present ``target`` is sent as ``If-None-Match``
        and kept on 304. The result's SHA-256 must be ``sha256``."""
        headers = {}
        if target.is_file():
            headers["If-None-Match"] = f'"{sha256}"'
        resp = self._request(url, headers)
        try:
            if getattr(resp, "code", None) == 304 or getattr(resp, "status", None) == 304:
                if _sha256(target) != sha256:
                    target.unlink()
                    return self.fetch(url, target, sha256)
                return None
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(target.name + ".part")
            digest = hashlib.sha256()
            with partial.open("wb") as out:
                while chunk := resp.read(_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
            if digest.hexdigest() != sha256:
                partial.unlink(missing_ok=True)
                raise HubError(f"{target.name} arrived damaged: its SHA-256 does not match "
                               "what the hub lists")
            os.replace(partial, target)
        finally:
            resp.close()
        return None


def _read_manifest(folder: Path) -> dict[str, Any] | None:
    try:
        info = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) and isinstance(info.get("files"), list) else None


def _verified(folder: Path, info: dict[str, Any]) -> bool:
    """Every file the manifest lists is in ``folder`` with its SHA-256."""
    for item in info["files"]:
        path = folder.joinpath(*_safe_relpath(item.get("path")).parts)
        if not path.is_file() or _sha256(path) != item.get("sha256"):
            return False
    return True


def _refs_file(root: Path) -> Path:
    return root / "refs.json"


def _read_refs(root: Path) -> dict[str, int]:
    try:
        refs = json.loads(_refs_file(root).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in refs.items() if isinstance(k, str) and isinstance(v, int)} \
        if isinstance(refs, dict) else {}


def _remember_tags(root: Path, tags: list[Any], number: int) -> None:
    refs = _read_refs(root)
    new = {t: number for t in tags if isinstance(t, str) and _REF.match(t)}
    if all(refs.get(k) == v for k, v in new.items()):
        return
    refs.update(new)
    tmp = root / f".refs-{os.getpid()}.json"
    tmp.write_text(json.dumps(refs, sort_keys=True), encoding="utf-8")
    os.replace(tmp, _refs_file(root))


def _cached_versions(root: Path) -> list[int]:
    if not root.is_dir():
        return []
    return sorted((int(p.name) for p in root.iterdir()
                   if p.is_dir() and p.name.isdigit() and (p / MANIFEST).is_file()),
                  reverse=True)


def _fill(hub: _Hub, root: Path, info: dict[str, Any]) -> Path:
    """Make ``root/<number>`` hold every file of the version ``info`` describes (verified)."""
    number = info["number"]
    folder = root / str(number)
    cached = _read_manifest(folder)
    if cached is not None and _verified(folder, cached) and {
            (f["path"], f["sha256"]) for f in cached["files"]} == {
            (f.get("path"), f.get("sha256")) for f in info["files"]}:
        return folder
    root.mkdir(parents=True, exist_ok=True)
    # Work in a fresh folder next to the final one (seeded with what is already there, so
    # ETags spare re-downloads), then swap it in: a failure leaves no half-filled version.
    work = Path(tempfile.mkdtemp(prefix=f".{number}-", dir=root))
    try:
        if folder.is_dir():
            shutil.copytree(folder, work, dirs_exist_ok=True)
            (work / MANIFEST).unlink(missing_ok=True)
        for item in info["files"]:
            rel = _safe_relpath(item.get("path"))
            sha = item.get("sha256")
            url = item.get("url")
            if not isinstance(sha, str) or not re.fullmatch(r"[0-9a-f]{64}", sha) or \
                    not isinstance(url, str):
                raise HubError(f"the hub listed {item.get('path')!r} without a valid SHA-256 "
                               "or address")
            hub.fetch(url, work.joinpath(*rel.parts), sha)
        listed = {str(_safe_relpath(f["path"])) for f in info["files"]}
        for path in sorted(work.rglob("*"), reverse=True):  # drop files the version lacks
            rel = path.relative_to(work).as_posix()
            if path.is_file() and rel not in listed:
                path.unlink()
        (work / MANIFEST).write_text(json.dumps(info, indent=1), encoding="utf-8")
        if folder.is_dir():
            shutil.rmtree(folder)
        os.replace(work, folder)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return folder


def download(repo: str, version: int | str | None = None, endpoint: str | None = None,
             cache_dir: str | os.PathLike[str] | None = None, *, token: str | None = None,
             timeout: float = 30.0) -> Path:
    """Download (or find in the cache) every file of ``repo`` at ``version`` and return the
    local folder. See :func:`load` for the arguments and the caching rules."""
    owner, name = _split_repo(repo)
    ref = _ref_text(version)
    root = cache_root(cache_dir) / owner / name
    # A pinned version already cached (a number, or a tag seen before): no network at all.
    if ref is not None:
        number = int(ref) if ref.isdigit() else _read_refs(root).get(ref)
        if number is not None:
            folder = root / str(number)
            info = _read_manifest(folder)
            if info is not None and _verified(folder, info):
                return folder
    hub = _Hub(endpoint, token, timeout)
    try:
        info = hub.version(owner, name, ref)
    except _Offline as err:
        if ref is not None:
            raise HubError(f"{repo} version {ref} is not in the cache ({root}) and {err}") \
                from None
        for number in _cached_versions(root):
            folder = root / str(number)
            cached = _read_manifest(folder)
            if cached is not None and _verified(folder, cached):
                warnings.warn(f"{err}; using {repo} version {number}, the newest in the cache",
                              stacklevel=3)
                return folder
        raise HubError(f"{err}, and {repo} has no version in the cache ({root})") from None
    folder = _fill(hub, root, info)
    _remember_tags(root, info.get("tags") or [], info["number"])
    return folder


def _build_from_module(folder: Path, info: dict[str, Any]) -> Any:
    from . import io as _io

    module_name = f"_skiff_hub_model_{hashlib.sha256(str(folder).encode()).hexdigest()[:16]}"
    spec = importlib.util.spec_from_file_location(module_name, folder / "model.py")
    if spec is None or spec.loader is None:
        raise HubError(f"cannot import {folder / 'model.py'}")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(folder))  # model.py may import files that ship next to it
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(folder))
    if not callable(getattr(module, "build_model", None)):
        raise HubError("model.py does not define build_model()")
    net = module.build_model()
    state: dict[str, Any] = {}
    weights = sorted(f["path"] for f in info["files"]
                     if f["path"].endswith(".safetensors") and "/" not in f["path"])
    if not weights:
        raise HubError("the version has model.py but no top-level .safetensors weights")
    for path in weights:
        loaded = _io.load(str(folder / path))
        if not isinstance(loaded, dict):
            raise HubError(f"{path} does not hold a state dict")
        state.update(loaded)
    result = net.load_state_dict(state)
    missing = list(getattr(result, "missing_keys", []) or [])
    unexpected = list(getattr(result, "unexpected_keys", []) or [])
    if missing or unexpected:
        raise HubError(f"the weights do not fit build_model(): missing {missing[:5]}, "
                       f"unexpected {unexpected[:5]}")
    net.eval()
    return net


def _program_dir(folder: Path, info: dict[str, Any]) -> Path | None:
    if info.get("architecture") == "program":
        sub = info.get("program_dir")
        if isinstance(sub, str) and sub:
            return folder.joinpath(*_safe_relpath(sub).parts)
    graphs = sorted(str(PurePosixPath(f["path"]).parent) for f in info["files"]
                    if PurePosixPath(f["path"]).name == "graph.json")
    for parent in graphs:
        where = folder if parent == "." else folder.joinpath(*PurePosixPath(parent).parts)
        if (where / "weights.safetensors").is_file():
            return where
    return None


def load(repo: str, version: int | str | None = None, endpoint: str | None = None,
         cache_dir: str | os.PathLike[str] | None = None, *, trust_code: bool = False,
         token: str | None = None, timeout: float = 30.0) -> Any:
    """Load the published model ``repo`` (``"owner/name"``) from a Skiff hub.

    ``version`` is a version number, a tag (``"v1.0"``) or ``None`` for the latest.
    ``endpoint`` is the hub's address (default ``$SKIFF_ENDPOINT``, else
    ``http://127.0.0.1:5000``); ``token`` (default ``$SKIFF_TOKEN``) opens private models.
    Files are cached under ``cache_dir`` (default :func:`cache_root`) and their SHA-256 checked.

    Returns the saved static program (:func:`framework.jit.load`) when the version has one.
    A version that only has ``model.py`` is built by importing that file — which runs code
    from the download — so it needs ``trust_code=True``. Raises :class:`HubError`.
    """
    from . import jit

    folder = download(repo, version, endpoint, cache_dir, token=token, timeout=timeout)
    info = _read_manifest(folder)
    if info is None:
        raise HubError(f"{folder} lost its manifest {MANIFEST}; delete the folder and retry")
    program = _program_dir(folder, info)
    if program is not None:
        return jit.load(str(program))
    if not (folder / "model.py").is_file():
        raise HubError(f"{repo} has neither a saved program nor model.py")
    if not trust_code:
        raise HubError(f"{repo} ships its architecture as model.py, and loading it runs that "
                       "code on this machine. Read it first "
                       f"({folder / 'model.py'}), then pass trust_code=True.")
    return _build_from_module(folder, info)
