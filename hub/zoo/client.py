"""Publish and fetch models from Python (what ``skiff model push/pull`` run)::

    from hub.client import SkiffClient
    from hub.zoo.client import pull_model, push_model

    client = SkiffClient("http://127.0.0.1:5000", token="skf_…")
    version = push_model(client, "runs/digits", "ada/digits-mlp", "Trained 20 epochs")
    folder = pull_model(client, "ada/digits-mlp@v1.0", "models/digits-mlp")

``push_model`` streams each file to ``POST …/files`` and then commits the version with
``POST …/versions``; if any step fails, no version exists. ``pull_model`` downloads every file
of the pinned version (a number or a tag; latest when not given), checks each file's SHA-256,
and skips files already present with the right content.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

from hub.client import SkiffClient, SkiffError

#: ``progress(label)`` -> (update(done, total), close()) — see ``hub.cli.progress_bar``.
ProgressFactory = Callable[[str], tuple[Callable[[int, int | None], None], Callable[[], None]]]


def parse_ref(ref: str) -> tuple[str, str, str | None]:
    """``owner/name[@version]`` -> (owner, name, version or None)."""
    repo, _sep, version = ref.partition("@")
    owner, slash, name = repo.partition("/")
    if not slash or not owner or not name or "/" in name:
        raise SkiffError(f"'{ref}' is not a model address: use owner/name or owner/name@version")
    return owner, name, version or None


def model_files(folder: str | os.PathLike[str]) -> list[tuple[str, Path]]:
    """(path in the model, local file) of every file under ``folder``, hidden files skipped."""
    root = Path(folder)
    if not root.is_dir():
        raise SkiffError(f"{root} is not a folder")
    out = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part.startswith(".") or part == "__pycache__" for part in rel.parts):
            continue
        if path.is_file():
            out.append((rel.as_posix(), path))
    if not out:
        raise SkiffError(f"{root} holds no files")
    return out


def push_model(client: SkiffClient, folder: str | os.PathLike[str], repo: str, message: str, *,
               public: bool | None = None, tag: str | None = None,
               progress: ProgressFactory | None = None) -> dict[str, Any]:
    """Publish ``folder`` as the next version of ``repo`` (``owner/name``); returns the
    version as the API describes it."""
    owner, name, version = parse_ref(repo)
    if version:
        raise SkiffError("push to owner/name: the hub numbers versions itself (use --tag)")
    staged = []
    for path, local in model_files(folder):
        update, close = progress(path) if progress else (None, lambda: None)
        try:
            body = client.upload(f"models/{owner}/{name}/files", local, params={"path": path},
                                 progress=update)
        finally:
            close()
        staged.append({"path": body["path"], "digest": body["digest"],
                       "receipt": body["receipt"]})
    payload: dict[str, Any] = {"message": message, "files": staged}
    if public is not None:
        payload["public"] = public
    if tag:
        payload["tag"] = tag
    return client.post(f"models/{owner}/{name}/versions", payload)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def pull_model(client: SkiffClient, ref: str, dest: str | os.PathLike[str], *,
               progress: ProgressFactory | None = None) -> Path:
    """Download every file of ``ref`` (``owner/name[@version]``) into ``dest``."""
    owner, name, version = parse_ref(ref)
    info = client.get(f"models/{owner}/{name}/versions/{version or 'latest'}")
    root = Path(dest)
    root.mkdir(parents=True, exist_ok=True)
    for item in info["files"]:
        rel = PurePosixPath(item["path"])
        if rel.is_absolute() or ".." in rel.parts:
            raise SkiffError(f"the hub sent an unsafe file name: {item['path']!r}")
        target = root.joinpath(*rel.parts)
        if target.is_file() and _sha256(target) == item["sha256"]:
            continue
        update, close = progress(item["path"]) if progress else (None, lambda: None)
        try:
            client.download(item["url"] if item["url"].startswith("http") else
                            f"{client.endpoint}{item['url']}", target, progress=update)
        finally:
            close()
        if _sha256(target) != item["sha256"]:
            target.unlink(missing_ok=True)
            raise SkiffError(f"{item['path']} arrived damaged (its SHA-256 does not match)")
    return root
