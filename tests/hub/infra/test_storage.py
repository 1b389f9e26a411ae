"""Blob storage: the local store and the S3 store (against moto's real HTTP server)."""

from __future__ import annotations

import hashlib
import io
import os
import socket
import threading

import pytest

from hub.infra.storage import (
    BlobNotFound,
    BlobTooLarge,
    DigestMismatch,
    LocalBlobStore,
    S3BlobStore,
    storage_from_url,
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def moto_endpoint():
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_store(moto_endpoint, monkeypatch, tmp_path):
    import boto3

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "skiff-test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "skiff-test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("S3_ENDPOINT_URL", moto_endpoint)
    bucket = f"skiff-{os.urandom(4).hex()}"
    boto3.client("s3", endpoint_url=moto_endpoint).create_bucket(Bucket=bucket)
    store = storage_from_url(f"s3://{bucket}/blobs")
    store.spool_dir = str(tmp_path / "spool")
    os.makedirs(store.spool_dir)
    return store


@pytest.fixture
def local_store(tmp_path):
    return LocalBlobStore(tmp_path / "blobs")


@pytest.fixture(params=["local", "s3"])
def store(request):
    return request.getfixturevalue(f"{request.param}_store")


class ChunkedStream(io.RawIOBase):
    """A stream that yields ``total`` bytes without ever holding them all."""

    def __init__(self, total: int, chunk: int = 65536):
        self.left = total
        self.chunk = chunk
        self.sha = hashlib.sha256()
        self.max_read = 0

    def readable(self):
        return True

    def read(self, n=-1):
        n = self.chunk if n is None or n < 0 else n
        self.max_read = max(self.max_read, n)
        take = min(n, self.left, self.chunk)
        self.left -= take
        data = bytes([self.left % 251]) * take
        self.sha.update(data)
        return data


def _leftovers(store) -> list[str]:
    if isinstance(store, LocalBlobStore):
        return os.listdir(store.tmp_dir)
    return os.listdir(store.spool_dir)


def test_put_returns_sha256_and_round_trips(store):
    data = b"skiff weights \x00\x01" * 1000
    digest = store.put(data)
    assert digest == hashlib.sha256(data).hexdigest()
    assert store.exists(digest)
    assert store.size(digest) == len(data)
    with store.open(digest) as fh:
        assert fh.read() == data
    assert store.verify(digest)


def test_same_bytes_are_stored_once(store):
    first = store.put(b"lesson one")
    second = store.put(io.BytesIO(b"lesson one"))
    assert first == second
    assert store.read_bytes(first) == b"lesson one"


def test_streamed_upload_is_hashed_while_written(store):
    stream = ChunkedStream(5 * 1024 * 1024 + 17)
    digest = store.put(stream)
    assert digest == stream.sha.hexdigest()
    assert store.size(digest) == 5 * 1024 * 1024 + 17
    # Reads were bounded: the store never asked for the whole upload at once.
    assert stream.max_read <= 1024 * 1024


def test_size_limit_stops_the_upload_and_leaves_nothing(store):
    stream = ChunkedStream(3 * 1024 * 1024)
    with pytest.raises(BlobTooLarge, match="limit of 1048576 bytes"):
        store.put(stream, max_size=1024 * 1024)
    # It stopped reading soon after the limit instead of draining the stream.
    assert stream.left > 1024 * 1024
    assert _leftovers(store) == []


def test_exact_limit_is_allowed(store):
    digest = store.put(b"x" * 100, max_size=100)
    assert store.size(digest) == 100


def test_wrong_expected_digest_stores_nothing(store):
    data = b"a model card"
    wrong = hashlib.sha256(b"another").hexdigest()
    with pytest.raises(DigestMismatch):
        store.put(data, expected_digest=wrong)
    assert not store.exists(hashlib.sha256(data).hexdigest())
    assert not store.exists(wrong)
    assert _leftovers(store) == []
    right = hashlib.sha256(data).hexdigest()
    assert store.put(data, expected_digest=right) == right


def test_failing_stream_leaves_no_temporary_file(store):
    class Broken(io.RawIOBase):
        calls = 0

        def readable(self):
            return True

        def read(self, n=-1):
            self.calls += 1
            if self.calls > 2:
                raise ConnectionResetError("client went away")
            return b"z" * 1000

    with pytest.raises(ConnectionResetError):
        store.put(Broken())
    assert _leftovers(store) == []


def test_missing_blob_and_delete(store):
    digest = store.put(b"to be removed")
    assert store.delete(digest) is True
    assert store.delete(digest) is False
    assert not store.exists(digest)
    with pytest.raises(BlobNotFound):
        store.open(digest)
    with pytest.raises(BlobNotFound):
        store.size(digest)


@pytest.mark.parametrize("bad", ["../../etc/passwd", "A" * 64, "ab" * 31, "", "g" * 64])
def test_digest_must_be_sha256_hex(store, bad):
    with pytest.raises(ValueError):
        store.exists(bad)
    with pytest.raises(ValueError):
        store.open(bad)


def test_local_layout_is_fanned_out_and_atomic(local_store):
    digest = local_store.put(b"notebook json")
    path = local_store.path(digest)
    assert path == local_store.root / digest[:2] / digest[2:4] / digest
    assert path.read_bytes() == b"notebook json"
    assert local_store.local_path(digest) == path
    assert local_store.url(digest) == path.as_uri()
    # A corrupted file is detected by verify().
    os.chmod(path, 0o644)
    path.write_bytes(b"tampered")
    assert not local_store.verify(digest)


def test_concurrent_puts_of_same_bytes(local_store):
    data = os.urandom(300_000)
    results = []

    def put():
        results.append(local_store.put(data))

    threads = [threading.Thread(target=put) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(results) == {hashlib.sha256(data).hexdigest()}
    assert local_store.read_bytes(results[0]) == data
    assert os.listdir(local_store.tmp_dir) == []


def test_s3_keys_and_urls(s3_store):
    digest = s3_store.put(b"bench bundle")
    key = f"blobs/{digest[:2]}/{digest[2:4]}/{digest}"
    assert s3_store.url(digest) == f"s3://{s3_store.bucket}/{key}"
    head = s3_store.client.head_object(Bucket=s3_store.bucket, Key=key)
    assert head["Metadata"]["sha256"] == digest
    assert s3_store.local_path(digest) is None
    import urllib.request

    with urllib.request.urlopen(s3_store.presigned_url(digest)) as resp:
        assert resp.read() == b"bench bundle"


def test_storage_from_url(tmp_path):
    assert isinstance(storage_from_url(str(tmp_path / "a")), LocalBlobStore)
    assert storage_from_url((tmp_path / "b").as_uri()).root == (tmp_path / "b").resolve()
    s3 = storage_from_url("s3://bucket/some/prefix/", client=object())
    assert isinstance(s3, S3BlobStore)
    assert (s3.bucket, s3.prefix) == ("bucket", "some/prefix")
    with pytest.raises(ValueError, match="unsupported"):
        storage_from_url("ftp://host/x")


def test_send_blob_streams_with_etag(local_store):
    from flask import Flask

    from hub.infra.storage import send_blob

    app = Flask(__name__)
    digest = local_store.put(b"safetensors bytes")

    @app.get("/b/<digest>")
    def download(digest):
        return send_blob(digest, download_name="w.safetensors", store=local_store)

    client = app.test_client()
    resp = client.get(f"/b/{digest}")
    assert resp.status_code == 200
    assert resp.data == b"safetensors bytes"
    assert resp.headers["ETag"] == f'"{digest}"'
    assert "w.safetensors" in resp.headers["Content-Disposition"]
    again = client.get(f"/b/{digest}", headers={"If-None-Match": f'"{digest}"'})
    assert again.status_code == 304
    assert again.data == b""


def test_get_storage_is_built_once_from_the_app_config(tmp_path):
    from flask import Flask

    from hub.infra.storage import get_storage

    app = Flask(__name__)
    app.config["STORAGE_URL"] = str(tmp_path / "app-blobs")
    with app.app_context():
        store = get_storage()
        assert isinstance(store, LocalBlobStore)
        assert store.root == (tmp_path / "app-blobs").resolve()
        assert get_storage() is store
        assert app.extensions["skiff_storage"] is store
