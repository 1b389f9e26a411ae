"""Content-addressed blob storage: one interface, a local folder or an S3-compatible bucket.

A blob is named by the SHA-256 of its bytes (64 lowercase hex digits, its *digest*). Storing the
same bytes twice stores them once. Uploads are streamed: bytes are hashed and counted while they
are written, never read whole into memory, and a size limit is enforced on the way in. Nothing
half-written is ever visible under a digest.

How the hub uses it (the one way)::

    from hub.infra.storage import get_storage

    digest = get_storage().put(request.stream, max_size=100 * 1024 * 1024)
    with get_storage().open(digest) as fh:
        first_kib = fh.read(1024)
    return send_blob(digest, download_name="weights.safetensors")

``get_storage()`` returns the store of the current Flask app, built once from the app's
``STORAGE_URL`` and kept in ``app.extensions["skiff_storage"]``. Outside an app (scripts,
tests), ``storage_from_url(url)`` builds a store directly:

* a path (or ``file:///path``): :class:`LocalBlobStore`, blobs in two levels of fan-out
  folders, ``<root>/ab/cd/abcd…``;
* ``s3://bucket/prefix``: :class:`S3BlobStore`; the endpoint of an S3-compatible store comes
  from ``S3_ENDPOINT_URL`` or ``AWS_ENDPOINT_URL``, credentials from boto3's usual places.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, BinaryIO
from urllib.parse import unquote, urlsplit

#: Bytes read or written per step while streaming.
CHUNK_SIZE = 1024 * 1024

_DIGEST_RE = re.compile(r"^[0-9a-f]{64}$")


class StorageError(Exception):
    """Base class of blob storage errors."""


class BlobTooLarge(StorageError):
    """The data is larger than the size limit given to :meth:`BlobStore.put`."""

    def __init__(self, limit: int):
        super().__init__(f"the upload is larger than the limit of {limit} bytes")
        self.limit = limit


class DigestMismatch(StorageError):
    """The data does not have the SHA-256 digest the caller said it has."""

    def __init__(self, expected: str, actual: str):
        super().__init__(f"the data's SHA-256 is {actual}, not the expected {expected}")
        self.expected = expected
        self.actual = actual


class BlobNotFound(StorageError, KeyError):
    """No blob with this digest is stored."""

    def __init__(self, digest: str):
        super().__init__(f"no blob {digest}")
        self.digest = digest

    def __str__(self) -> str:  # KeyError would quote the message
        return self.args[0]


def check_digest(digest: str) -> str:
    """Return ``digest`` if it is 64 lowercase hex digits, else raise ``ValueError``.

    Digests become file names and object keys: this is what keeps a caller-supplied digest from
    naming anything outside the store.
    """
    if not isinstance(digest, str) or not _DIGEST_RE.fullmatch(digest):
        raise ValueError(f"not a SHA-256 digest (64 lowercase hex digits): {digest!r}")
    return digest


def _chunks(data: bytes | bytearray | memoryview | IO[bytes]) -> Iterator[bytes]:
    if isinstance(data, (bytes, bytearray, memoryview)):
        view = memoryview(data)
        for start in range(0, len(view), CHUNK_SIZE):
            yield bytes(view[start : start + CHUNK_SIZE])
        return
    read = getattr(data, "read", None)
    if read is None:
        raise TypeError("put() takes bytes or a binary stream with .read()")
    while True:
        chunk = read(CHUNK_SIZE)
        if not chunk:
            return
        if isinstance(chunk, str):
            raise TypeError("put() takes a binary stream, not a text stream")
        yield chunk


def _copy_hashing(
    data: bytes | IO[bytes], out: IO[bytes], max_size: int | None
) -> tuple[str, int]:
    """Copy ``data`` into ``out`` while hashing and counting; enforce ``max_size``."""
    sha = hashlib.sha256()
    size = 0
    for chunk in _chunks(data):
        size += len(chunk)
        if max_size is not None and size > max_size:
            raise BlobTooLarge(max_size)
        sha.update(chunk)
        out.write(chunk)
    return sha.hexdigest(), size


class BlobStore(ABC):
    """What every blob store offers. Digests are SHA-256 hex strings."""

    @abstractmethod
    def put(
        self,
        data: bytes | IO[bytes],
        *,
        max_size: int | None = None,
        expected_digest: str | None = None,
    ) -> str:
        """Store ``data`` (bytes or a binary stream read to its end) and return its digest.

        Raises :class:`BlobTooLarge` as soon as more than ``max_size`` bytes arrive and
        :class:`DigestMismatch` when ``expected_digest`` is given and differs; in both cases
        nothing is stored and no temporary file is left behind.
        """

    @abstractmethod
    def open(self, digest: str) -> BinaryIO:
        """A readable binary stream of the blob (use it as a context manager).

        Raises :class:`BlobNotFound`.
        """

    @abstractmethod
    def exists(self, digest: str) -> bool:
        """Whether a blob with this digest is stored."""

    @abstractmethod
    def size(self, digest: str) -> int:
        """The blob's size in bytes. Raises :class:`BlobNotFound`."""

    @abstractmethod
    def delete(self, digest: str) -> bool:
        """Remove the blob; return whether it was there."""

    @abstractmethod
    def url(self, digest: str) -> str:
        """Where the blob lives, as a URL (``file:///…`` or ``s3://bucket/key``)."""

    def local_path(self, digest: str) -> Path | None:
        """The blob's file on this machine, or ``None`` for a remote store."""
        return None

    def read_bytes(self, digest: str) -> bytes:
        """The whole blob in memory: for small blobs only (metadata, notebooks)."""
        with self.open(digest) as fh:
            return fh.read()

    def verify(self, digest: str) -> bool:
        """Re-read the blob and check that its bytes still hash to ``digest``."""
        sha = hashlib.sha256()
        with self.open(digest) as fh:
            for chunk in _chunks(fh):
                sha.update(chunk)
        return sha.hexdigest() == digest


class LocalBlobStore(BlobStore):
    """Blobs as files under ``root``: ``root/ab/cd/abcd…`` (two fan-out levels).

    A blob is written to a temporary file under ``root/tmp`` (the same file system, so the
    rename is atomic), flushed with fsync, renamed into place with ``os.replace`` and then the
    folder entry is made durable by an fsync of the folder.
    """

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root).resolve()
        self.tmp_dir = self.root / "tmp"
        self.tmp_dir.mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"LocalBlobStore({str(self.root)!r})"

    def path(self, digest: str) -> Path:
        """The file a blob with this digest is (or would be) stored in."""
        check_digest(digest)
        return self.root / digest[:2] / digest[2:4] / digest

    def local_path(self, digest: str) -> Path | None:
        return self.path(digest)

    def url(self, digest: str) -> str:
        return self.path(digest).as_uri()

    def put(self, data, *, max_size=None, expected_digest=None) -> str:
        if expected_digest is not None:
            check_digest(expected_digest)
        fd, tmp_name = tempfile.mkstemp(prefix="upload-", dir=self.tmp_dir)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                digest, _ = _copy_hashing(data, out, max_size)
                out.flush()
                os.fsync(out.fileno())
            if expected_digest is not None and digest != expected_digest:
                raise DigestMismatch(expected_digest, digest)
            final = self.path(digest)
            if final.exists():
                return digest  # the same bytes are already stored
            final.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(tmp, 0o644)
            os.replace(tmp, final)
            _fsync_dir(final.parent)
            return digest
        finally:
            tmp.unlink(missing_ok=True)

    def open(self, digest: str) -> BinaryIO:
        try:
            return open(self.path(digest), "rb")
        except FileNotFoundError:
            raise BlobNotFound(digest) from None

    def exists(self, digest: str) -> bool:
        return self.path(digest).is_file()

    def size(self, digest: str) -> int:
        try:
            return self.path(digest).stat().st_size
        except FileNotFoundError:
            raise BlobNotFound(digest) from None

    def delete(self, digest: str) -> bool:
        path = self.path(digest)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        _fsync_dir(path.parent)
        return True


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class S3BlobStore(BlobStore):
    """Blobs as objects ``<prefix>/ab/cd/abcd…`` in an S3 (or S3-compatible) bucket.

    An upload is first spooled to a temporary file on local disk while it is hashed, counted
    and checked against the size limit, so that no object is created for a rejected upload and
    the object key (the digest) is known before the upload to S3 starts. S3 makes an object
    visible only once it is complete, which gives the same atomicity as the local rename.
    """

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        client: Any = None,
        endpoint_url: str | None = None,
        spool_dir: str | os.PathLike[str] | None = None,
    ):
        if not bucket:
            raise ValueError("an S3 store needs a bucket: s3://bucket/prefix")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.spool_dir = str(spool_dir) if spool_dir is not None else None
        if client is None:
            import boto3

            endpoint_url = (
                endpoint_url
                or os.environ.get("S3_ENDPOINT_URL")
                or os.environ.get("AWS_ENDPOINT_URL")
                or None
            )
            client = boto3.client("s3", endpoint_url=endpoint_url)
        self.client = client

    def __repr__(self) -> str:
        return f"S3BlobStore({self.bucket!r}, {self.prefix!r})"

    def key(self, digest: str) -> str:
        """The object key of a blob."""
        check_digest(digest)
        name = f"{digest[:2]}/{digest[2:4]}/{digest}"
        return f"{self.prefix}/{name}" if self.prefix else name

    def url(self, digest: str) -> str:
        return f"s3://{self.bucket}/{self.key(digest)}"

    def presigned_url(self, digest: str, expires_in: int = 3600) -> str:
        """A time-limited HTTPS URL that downloads the blob straight from the bucket."""
        return self.client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": self.key(digest)},
            ExpiresIn=expires_in,
        )

    def put(self, data, *, max_size=None, expected_digest=None) -> str:
        if expected_digest is not None:
            check_digest(expected_digest)
        with tempfile.TemporaryFile(prefix="skiff-upload-", dir=self.spool_dir) as spool:
            digest, size = _copy_hashing(data, spool, max_size)
            if expected_digest is not None and digest != expected_digest:
                raise DigestMismatch(expected_digest, digest)
            if self.exists(digest):
                return digest
            spool.seek(0)
            self.client.upload_fileobj(
                spool,
                self.bucket,
                self.key(digest),
                ExtraArgs={"Metadata": {"sha256": digest}},
            )
        return digest

    def _is_missing(self, exc: Exception) -> bool:
        response = getattr(exc, "response", None) or {}
        code = str(response.get("Error", {}).get("Code", ""))
        return code in {"404", "NoSuchKey", "NotFound"}

    def open(self, digest: str) -> BinaryIO:
        from botocore.exceptions import ClientError

        try:
            obj = self.client.get_object(Bucket=self.bucket, Key=self.key(digest))
        except ClientError as exc:
            if self._is_missing(exc):
                raise BlobNotFound(digest) from None
            raise
        return _S3Reader(obj["Body"])

    def _head(self, digest: str) -> dict | None:
        from botocore.exceptions import ClientError

        try:
            return self.client.head_object(Bucket=self.bucket, Key=self.key(digest))
        except ClientError as exc:
            if self._is_missing(exc):
                return None
            raise

    def exists(self, digest: str) -> bool:
        return self._head(digest) is not None

    def size(self, digest: str) -> int:
        head = self._head(digest)
        if head is None:
            raise BlobNotFound(digest)
        return int(head["ContentLength"])

    def delete(self, digest: str) -> bool:
        if not self.exists(digest):
            return False
        self.client.delete_object(Bucket=self.bucket, Key=self.key(digest))
        return True


class _S3Reader(io.RawIOBase):
    """botocore's streaming body as a standard binary file object."""

    def __init__(self, body: Any):
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._body.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def read(self, size: int = -1) -> bytes:
        return self._body.read() if size is None or size < 0 else self._body.read(size)

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()


def storage_from_url(url: str | os.PathLike[str], **kwargs: Any) -> BlobStore:
    """Build the store a ``STORAGE_URL`` names: a folder, ``file:///folder`` or ``s3://…``."""
    text = os.fspath(url)
    parts = urlsplit(text)
    if parts.scheme == "s3":
        return S3BlobStore(parts.netloc, unquote(parts.path), **kwargs)
    if parts.scheme == "file":
        return LocalBlobStore(unquote(parts.path), **kwargs)
    if parts.scheme and len(parts.scheme) > 1:
        raise ValueError(f"unsupported STORAGE_URL scheme {parts.scheme!r}: use a path or s3://")
    return LocalBlobStore(text, **kwargs)


EXTENSION_KEY = "skiff_storage"


def init_app(app) -> None:
    """Give ``app`` its blob store, built from ``app.config["STORAGE_URL"]``.

    Defaults to ``<instance>/blobs`` when the setting is missing.
    """
    url = app.config.get("STORAGE_URL") or str(Path(app.instance_path) / "blobs")
    app.extensions[EXTENSION_KEY] = storage_from_url(url)


def get_storage() -> BlobStore:
    """The blob store of the current Flask app (created on first use)."""
    from flask import current_app

    app = current_app._get_current_object()
    if EXTENSION_KEY not in app.extensions:
        init_app(app)
    return app.extensions[EXTENSION_KEY]


def send_blob(
    digest: str,
    *,
    download_name: str | None = None,
    mimetype: str = "application/octet-stream",
    as_attachment: bool = True,
    store: BlobStore | None = None,
):
    """A Flask response streaming the blob, with the digest as a strong ETag.

    A request whose ``If-None-Match`` carries the digest gets ``304 Not Modified`` and no body.
    Raises :class:`BlobNotFound` for a missing blob (map it to a 404 in the view).
    """
    from flask import Response, request

    store = store or get_storage()
    size = store.size(digest)
    if request.if_none_match.contains(digest):
        response = Response(status=304)
        response.set_etag(digest)
        return response
    fh = store.open(digest)

    def body() -> Iterator[bytes]:
        with fh:
            yield from _chunks(fh)

    response = Response(body(), mimetype=mimetype, direct_passthrough=True)
    response.content_length = size
    response.set_etag(digest)
    response.headers["Cache-Control"] = "private, max-age=0, must-revalidate"
    if download_name:
        disposition = "attachment" if as_attachment else "inline"
        response.headers.set("Content-Disposition", disposition, filename=download_name)
    return response

