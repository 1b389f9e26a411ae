"""``SkiffClient``: talk to a Skiff hub's REST API from Python (the ``skiff`` CLI uses it).

>>> from hub.client import SkiffClient
>>> client = SkiffClient("http://127.0.0.1:5000", token="skf_…")  # doctest: +SKIP
>>> client.whoami()["username"]  # doctest: +SKIP
'ada'

The endpoint comes from the argument, else ``SKIFF_ENDPOINT``, else the one saved by
``skiff login``, else ``http://127.0.0.1:5000``; the token from the argument, else
``SKIFF_TOKEN``, else the one ``skiff login`` saved for that endpoint (so mirrors work).
Saved settings live in ``config.json`` in the user's config directory (``SKIFF_CONFIG_DIR``
overrides it), readable by the user alone (mode 0600).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import requests

DEFAULT_ENDPOINT = "http://127.0.0.1:5000"
Progress = Callable[[int, int | None], None]


class SkiffError(Exception):
    """The hub answered with an error (``status``, ``code``, ``message``) or was unreachable."""

    def __init__(self, message: str, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code


# ----- saved settings ----------------------------------------------------------------------


def config_dir() -> Path:
    override = os.environ.get("SKIFF_CONFIG_DIR")
    if override:
        return Path(override)
    from platformdirs import user_config_dir

    return Path(user_config_dir("skiff"))


def config_path() -> Path:
    return config_dir() / "config.json"


def load_config() -> dict[str, Any]:
    path = config_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as err:
        raise SkiffError(
            f"cannot read {path}: {err}; delete it and run `skiff login` again") from None
    return data if isinstance(data, dict) else {}


def save_config(data: dict[str, Any]) -> Path:
    """Write the settings atomically, readable and writable by the user alone."""
    directory = config_dir()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".config-", suffix=".json")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, config_path())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return config_path()


def resolve_endpoint(endpoint: str | None = None) -> str:
    value = endpoint or os.environ.get("SKIFF_ENDPOINT") or load_config().get("endpoint")
    return (value or DEFAULT_ENDPOINT).rstrip("/")


def saved_token(endpoint: str) -> str | None:
    return load_config().get("tokens", {}).get(endpoint.rstrip("/"))


def store_token(endpoint: str, token: str) -> Path:
    data = load_config()
    data.setdefault("tokens", {})[endpoint.rstrip("/")] = token
    data["endpoint"] = endpoint.rstrip("/")
    return save_config(data)


def forget_token(endpoint: str) -> bool:
    data = load_config()
    removed = data.get("tokens", {}).pop(endpoint.rstrip("/"), None) is not None
    save_config(data)
    return removed


# ----- the client ----------------------------------------------------------------------------


class _ProgressReader:
    """A file wrapper that reports how much has been read (for upload progress)."""

    def __init__(self, fh: BinaryIO, total: int, progress: Progress | None):
        self.fh = fh
        self.total = total
        self.done = 0
        self.progress = progress

    def __len__(self) -> int:
        return self.total

    def read(self, size: int = -1) -> bytes:
        chunk = self.fh.read(size)
        self.done += len(chunk)
        if self.progress:
            self.progress(self.done, self.total)
        return chunk

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.read(1 << 16):
            yield chunk


class SkiffClient:
    """A small client of the hub's ``/api/v1``."""

    def __init__(self, endpoint: str | None = None, token: str | None = None,
                 timeout: float = 60.0) -> None:
        self.endpoint = resolve_endpoint(endpoint)
        self.token = token or os.environ.get("SKIFF_TOKEN") or saved_token(self.endpoint)
        self.timeout = timeout
        self.session = requests.Session()

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.endpoint}/api/v1/{path.lstrip('/')}"

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            response = self.session.request(method, self.url(path), headers=headers,
                                            timeout=kwargs.pop("timeout", self.timeout), **kwargs)
        except requests.ConnectionError as err:
            raise SkiffError(f"cannot reach the hub at {self.endpoint}: {err}") from None
        except requests.Timeout:
            raise SkiffError(f"the hub at {self.endpoint} did not answer in time") from None
        if response.status_code >= 400:
            code, message = None, response.reason
            try:
                err = response.json()["error"]
                code, message = err.get("code"), err.get("message", message)
            except (ValueError, KeyError, TypeError):
                pass
            raise SkiffError(f"{message} (HTTP {response.status_code})",
                             response.status_code, code)
        return response

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params or None).json()

    def post(self, path: str, payload: Any = None) -> Any:
        return self.request("POST", path, json=payload).json()

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path).json()

    def iter_pages(self, path: str, **params: Any) -> Iterator[Any]:
        """Every item of a paginated collection."""
        page = 1
        while True:
            body = self.get(path, **params, page=page)
            yield from body["items"]
            if page >= body["pages"]:
                return
            page += 1

    def whoami(self) -> dict[str, Any]:
        if not self.token:
            raise SkiffError("not logged in: run `skiff login` or set SKIFF_TOKEN")
        return self.get("me")

    def upload(self, path: str, file: str | os.PathLike[str], params: dict | None = None,
               progress: Progress | None = None, method: str = "POST") -> Any:
        """Stream a file as the request body (never read whole into memory)."""
        file = Path(file)
        total = file.stat().st_size
        with file.open("rb") as fh:
            body = _ProgressReader(fh, total, progress)
            response = self.request(method, path, params=params, data=body,
                                    headers={"Content-Type": "application/octet-stream",
                                             "Content-Length": str(total)})
        return response.json()

    def download(self, path: str, dest: str | os.PathLike[str],
                 progress: Progress | None = None) -> Path:
        """Stream a download into ``dest`` atomically (a partial file never remains)."""
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        response = self.request("GET", path, stream=True)
        total = response.headers.get("Content-Length")
        total_n = int(total) if total and total.isdigit() else None
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
        done = 0
        try:
            with os.fdopen(fd, "wb") as fh:
                for chunk in response.iter_content(1 << 16):
                    fh.write(chunk)
                    done += len(chunk)
                    if progress:
                        progress(done, total_n)
                fh.flush()
                os.fsync(fh.fileno())
            if total_n is not None and done != total_n:
                raise SkiffError(f"download of {path} stopped after {done} of {total_n} bytes")
            os.replace(tmp, dest)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        finally:
            response.close()
        return dest
