"""The contract every ``ObjectStore`` implementation passes.

Use it by subclassing in a test module and providing an ``open_store`` fixture: a factory that opens the
store over one fresh storage location, where a second call opens it again over the same data (a restart)::

    class TestMyObjectStore(ObjectStoreContract):
        @pytest.fixture
        def open_store(self, tmp_path: Path) -> Callable[[], ObjectStore]:
            return lambda: MyObjectStore(tmp_path)
"""

from __future__ import annotations

import base64
import hashlib
import io
import zlib
from collections.abc import Callable

import pytest

from sageforge.store.objects.base import (
    MIN_PART_SIZE,
    BadDigest,
    BucketAlreadyExists,
    BucketNotEmpty,
    CompletedPart,
    DigestCheck,
    EntityTooSmall,
    InvalidPart,
    InvalidPartOrder,
    InvalidRange,
    NoSuchBucket,
    NoSuchKey,
    NoSuchUpload,
    ObjectAttributes,
    ObjectStore,
    UnsupportedChecksum,
)

BUCKET = "contract-bucket"


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def crc32(data: bytes) -> str:
    return b64(zlib.crc32(data).to_bytes(4, "big"))


def read_all(store: ObjectStore, bucket: str, key: str, start: int = 0, end: int | None = None) -> bytes:
    return b"".join(store.read_object(bucket, key, start, end))


class FailingBody:
    """A body that yields ``good`` bytes and then fails, like a client that goes away mid-upload."""

    def __init__(self, good: bytes) -> None:
        self._good = io.BytesIO(good)

    def read(self, size: int = -1, /) -> bytes:
        chunk = self._good.read(size)
        if not chunk:
            raise ConnectionResetError("client went away")
        return chunk


class ObjectStoreContract:
    @pytest.fixture
    def open_store(self) -> Callable[[], ObjectStore]:
        raise NotImplementedError("provide an `open_store` fixture: each call opens the same fresh storage")

    @pytest.fixture
    def store(self, open_store: Callable[[], ObjectStore]) -> ObjectStore:
        store = open_store()
        store.create_bucket(BUCKET, "us-east-1")
        return store

    # -- buckets ----------------------------------------------------------------------------------------

    def test_buckets_are_created_listed_and_deleted(self, open_store: Callable[[], ObjectStore]) -> None:
        store = open_store()
        created = store.create_bucket("beta", "eu-west-1")
        store.create_bucket("alpha", "us-east-1")
        with pytest.raises(BucketAlreadyExists):
            store.create_bucket("beta", "us-east-1")
        assert store.get_bucket("beta") == created and created.region == "eu-west-1"
        assert [b.name for b in store.list_buckets()] == ["alpha", "beta"]
        store.delete_bucket("alpha")
        with pytest.raises(NoSuchBucket):
            store.get_bucket("alpha")
        with pytest.raises(NoSuchBucket):
            store.delete_bucket("alpha")

    def test_a_bucket_with_objects_is_not_deleted(self, store: ObjectStore) -> None:
        store.put_object(BUCKET, "k", io.BytesIO(b"x"), ObjectAttributes())
        with pytest.raises(BucketNotEmpty):
            store.delete_bucket(BUCKET)
        store.delete_object(BUCKET, "k")
        store.create_multipart_upload(BUCKET, "pending", ObjectAttributes())
        store.delete_bucket(BUCKET)  # uploads in progress do not keep a bucket alive
        assert store.list_buckets() == []

    def test_objects_need_their_bucket(self, store: ObjectStore) -> None:
        with pytest.raises(NoSuchBucket):
            store.put_object("missing", "k", io.BytesIO(b"x"), ObjectAttributes())
        with pytest.raises(NoSuchBucket):
            store.head_object("missing", "k")
        with pytest.raises(NoSuchBucket):
            store.list_objects("missing")
        with pytest.raises(NoSuchKey):
            store.head_object(BUCKET, "missing")

    # -- objects ----------------------------------------------------------------------------------------

    def test_put_then_read_round_trips_bytes_and_attributes(self, store: ObjectStore) -> None:
        data = bytes(range(256)) * 10_000
        attributes = ObjectAttributes("text/plain", {"owner": "me"}, {"CacheControl": "no-cache"})
        info = store.put_object(BUCKET, "dir/file.bin", io.BytesIO(data), attributes)
        assert (info.size, info.etag, info.attributes) == (len(data), hashlib.md5(data).hexdigest(), attributes)
        assert store.head_object(BUCKET, "dir/file.bin") == info
        assert read_all(store, BUCKET, "dir/file.bin") == data
        assert read_all(store, BUCKET, "dir/file.bin", 10, 19) == data[10:20]
        assert read_all(store, BUCKET, "dir/file.bin", len(data) - 5) == data[-5:]
        assert read_all(store, BUCKET, "dir/file.bin", 0, len(data) + 100) == data
        with pytest.raises(InvalidRange):
            store.read_object(BUCKET, "dir/file.bin", len(data))

    def test_empty_objects(self, store: ObjectStore) -> None:
        info = store.put_object(BUCKET, "empty", io.BytesIO(b""), ObjectAttributes())
        assert info.size == 0 and info.etag == hashlib.md5(b"").hexdigest()
        assert read_all(store, BUCKET, "empty") == b""

    def test_overwrite_replaces_and_delete_is_idempotent(self, store: ObjectStore) -> None:
        store.put_object(BUCKET, "k", io.BytesIO(b"old"), ObjectAttributes(metadata={"v": "1"}))
        info = store.put_object(BUCKET, "k", io.BytesIO(b"new!"), ObjectAttributes())
        assert read_all(store, BUCKET, "k") == b"new!" and info.attributes.metadata == {}
        store.delete_object(BUCKET, "k")
        store.delete_object(BUCKET, "k")
        with pytest.raises(NoSuchKey):
            store.head_object(BUCKET, "k")

    def test_checksums_are_computed_and_verified(self, store: ObjectStore) -> None:
        data = b"checksum me" * 1000
        claimed = {"MD5": b64(hashlib.md5(data).digest()), "CRC32": crc32(data)}
        check = DigestCheck(expected=claimed, compute=["SHA256", "SHA1"])
        info = store.put_object(BUCKET, "sum", io.BytesIO(data), ObjectAttributes(), check)
        assert info.checksums == {
            "CRC32": crc32(data),
            "SHA1": b64(hashlib.sha1(data).digest()),
            "SHA256": b64(hashlib.sha256(data).digest()),
        }
        assert store.head_object(BUCKET, "sum").checksums == info.checksums

    @pytest.mark.parametrize("algorithm", ["MD5", "CRC32", "SHA256"])
    def test_a_bad_digest_stores_nothing(self, store: ObjectStore, algorithm: str) -> None:
        store.put_object(BUCKET, "k", io.BytesIO(b"previous"), ObjectAttributes())
        wrong = DigestCheck(expected={algorithm: b64(hashlib.sha256(b"other").digest()[:4])})
        with pytest.raises(BadDigest) as caught:
            store.put_object(BUCKET, "k", io.BytesIO(b"data"), ObjectAttributes(), wrong)
        assert caught.value.algorithm == algorithm
        assert read_all(store, BUCKET, "k") == b"previous"
        with pytest.raises(BadDigest):
            store.put_object(BUCKET, "fresh", io.BytesIO(b"data"), ObjectAttributes(), wrong)
        assert [o.key for o in store.list_objects(BUCKET)] == ["k"]

    def test_a_body_that_fails_stores_nothing(self, store: ObjectStore) -> None:
        store.put_object(BUCKET, "k", io.BytesIO(b"previous"), ObjectAttributes())
        with pytest.raises(ConnectionResetError):
            store.put_object(BUCKET, "k", FailingBody(b"x" * 3_000_000), ObjectAttributes())
        assert read_all(store, BUCKET, "k") == b"previous"

    def test_unsupported_checksums_are_refused(self, store: ObjectStore) -> None:
        with pytest.raises(UnsupportedChecksum):
            store.put_object(BUCKET, "k", io.BytesIO(b"x"), ObjectAttributes(), DigestCheck(compute=["CRC64NVME"]))
        with pytest.raises(UnsupportedChecksum):
            store.create_multipart_upload(BUCKET, "k", ObjectAttributes(), checksum_algorithm="CRC64NVME")
        assert store.list_objects(BUCKET) == []

    def test_an_open_reader_keeps_its_version(self, store: ObjectStore) -> None:
        store.put_object(BUCKET, "k", io.BytesIO(b"first version"), ObjectAttributes())
        with store.open_object(BUCKET, "k") as reader:
            store.put_object(BUCKET, "k", io.BytesIO(b"second"), ObjectAttributes())
            store.delete_object(BUCKET, "k")
            assert reader.info.size == len(b"first version")
            assert b"".join(reader.chunks(6)) == b"version"

    def test_copy_keeps_or_replaces_attributes(self, store: ObjectStore) -> None:
        attributes = ObjectAttributes("text/csv", {"a": "1"})
        check = DigestCheck(compute=["CRC32"])
        store.put_object(BUCKET, "src", io.BytesIO(b"a,b\n1,2\n"), attributes, check)
        copied = store.copy_object(BUCKET, "src", BUCKET, "dst")
        assert read_all(store, BUCKET, "dst") == b"a,b\n1,2\n"
        assert copied.attributes == attributes and copied.checksums == {"CRC32": crc32(b"a,b\n1,2\n")}
        replaced = store.copy_object(BUCKET, "src", BUCKET, "src", ObjectAttributes("text/plain"))
        assert replaced.attributes == ObjectAttributes("text/plain")
        assert read_all(store, BUCKET, "src") == b"a,b\n1,2\n"
        with pytest.raises(NoSuchKey):
            store.copy_object(BUCKET, "missing", BUCKET, "x")

    # -- listing ----------------------------------------------------------------------------------------

    def test_listing_is_in_utf8_byte_order_with_prefix_and_start_after(self, store: ObjectStore) -> None:
        keys = ["a", "a/b", "a/c", "a\u00e9", "a\U0001f600", "A", "b", "a+", "a%", "a\uffff", "a\uffffz"]
        for key in keys:
            store.put_object(BUCKET, key, io.BytesIO(key.encode()), ObjectAttributes())
        by_bytes = sorted(keys, key=lambda k: k.encode())
        assert [o.key for o in store.list_objects(BUCKET)] == by_bytes
        assert [o.key for o in store.list_objects(BUCKET, prefix="a/")] == ["a/b", "a/c"]
        assert [o.key for o in store.list_objects(BUCKET, prefix="a\uffff")] == ["a\uffff", "a\uffffz"]
        assert [o.key for o in store.list_objects(BUCKET, start_after="a/b", limit=2)] == by_bytes[5:7]
        assert store.list_objects(BUCKET, prefix="B") == []

    # -- multipart uploads ------------------------------------------------------------------------------

    def test_multipart_upload_joins_parts(self, store: ObjectStore) -> None:
        first, second = b"1" * MIN_PART_SIZE, b"tail"
        attributes = ObjectAttributes("application/x-test", {"m": "v"})
        upload = store.create_multipart_upload(BUCKET, "big", attributes, checksum_algorithm="CRC32")
        assert store.get_multipart_upload(BUCKET, "big", upload.upload_id) == upload
        stale = store.upload_part(BUCKET, "big", upload.upload_id, 1, io.BytesIO(b"replaced"))
        part1 = store.upload_part(BUCKET, "big", upload.upload_id, 1, io.BytesIO(first))
        part2 = store.upload_part(
            BUCKET, "big", upload.upload_id, 2, io.BytesIO(second), DigestCheck(expected={"CRC32": crc32(second)})
        )
        assert part1.etag != stale.etag and part1.checksums == {"CRC32": crc32(first)}
        assert store.list_parts(BUCKET, "big", upload.upload_id) == [part1, part2]
        assert store.list_parts(BUCKET, "big", upload.upload_id, part_number_marker=1) == [part2]
        info = store.complete_multipart_upload(
            BUCKET, "big", upload.upload_id, [CompletedPart(1, f'"{part1.etag}"'), CompletedPart(2, part2.etag)]
        )
        md5s = hashlib.md5(first).digest() + hashlib.md5(second).digest()
        assert info.etag == f"{hashlib.md5(md5s).hexdigest()}-2" and info.parts_count == 2
        raw_crcs = base64.b64decode(crc32(first)) + base64.b64decode(crc32(second))
        assert info.checksums == {"CRC32": f"{crc32(raw_crcs)}-2"}
        assert info.attributes == attributes and info.size == len(first) + len(second)
        assert read_all(store, BUCKET, "big") == first + second
        with pytest.raises(NoSuchUpload):
            store.list_parts(BUCKET, "big", upload.upload_id)

    def test_full_object_checksums_cover_the_joined_body(self, store: ObjectStore) -> None:
        upload = store.create_multipart_upload(BUCKET, "k", ObjectAttributes(), "CRC32", "FULL_OBJECT")
        part = store.upload_part(BUCKET, "k", upload.upload_id, 1, io.BytesIO(b"whole"))
        parts = [CompletedPart(1, part.etag)]
        with pytest.raises(BadDigest):
            store.complete_multipart_upload(BUCKET, "k", upload.upload_id, parts, DigestCheck({"CRC32": crc32(b"x")}))
        check = DigestCheck(expected={"CRC32": crc32(b"whole")})
        info = store.complete_multipart_upload(BUCKET, "k", upload.upload_id, parts, check)
        assert info.checksums == {"CRC32": crc32(b"whole")}

    def test_completion_enforces_s3_rules(self, store: ObjectStore) -> None:
        upload = store.create_multipart_upload(BUCKET, "k", ObjectAttributes())
        small = store.upload_part(BUCKET, "k", upload.upload_id, 1, io.BytesIO(b"small"))
        last = store.upload_part(BUCKET, "k", upload.upload_id, 2, io.BytesIO(b"last"))
        uid = upload.upload_id
        with pytest.raises(InvalidPart):
            store.complete_multipart_upload(BUCKET, "k", uid, [CompletedPart(1, "0" * 32)])
        with pytest.raises(InvalidPart):
            store.complete_multipart_upload(BUCKET, "k", uid, [CompletedPart(3, small.etag)])
        with pytest.raises(InvalidPart):
            store.complete_multipart_upload(BUCKET, "k", uid, [CompletedPart(1, small.etag, {"CRC32": "AAAAAA=="})])
        with pytest.raises(InvalidPartOrder):
            store.complete_multipart_upload(
                BUCKET, "k", uid, [CompletedPart(2, last.etag), CompletedPart(1, small.etag)]
            )
        with pytest.raises(EntityTooSmall):
            store.complete_multipart_upload(
                BUCKET, "k", uid, [CompletedPart(1, small.etag), CompletedPart(2, last.etag)]
            )
        info = store.complete_multipart_upload(BUCKET, "k", uid, [CompletedPart(2, last.etag)])
        assert read_all(store, BUCKET, "k") == b"last" and info.parts_count == 1

    def test_abort_discards_the_upload(self, store: ObjectStore) -> None:
        upload = store.create_multipart_upload(BUCKET, "k", ObjectAttributes())
        store.upload_part(BUCKET, "k", upload.upload_id, 1, io.BytesIO(b"part"))
        store.abort_multipart_upload(BUCKET, "k", upload.upload_id)
        with pytest.raises(NoSuchUpload):
            store.abort_multipart_upload(BUCKET, "k", upload.upload_id)
        with pytest.raises(NoSuchUpload):
            store.upload_part(BUCKET, "k", upload.upload_id, 2, io.BytesIO(b"late"))
        with pytest.raises(NoSuchUpload):
            store.get_multipart_upload(BUCKET, "other-key", upload.upload_id)
        with pytest.raises(NoSuchKey):
            store.head_object(BUCKET, "k")

    def test_upload_part_copy_takes_a_range(self, store: ObjectStore) -> None:
        source = bytes(range(256)) * 100
        store.put_object(BUCKET, "src", io.BytesIO(source), ObjectAttributes())
        upload = store.create_multipart_upload(BUCKET, "dst", ObjectAttributes(), checksum_algorithm="CRC32")
        part = store.upload_part_copy(BUCKET, "dst", upload.upload_id, 1, BUCKET, "src", 100, 199)
        assert part.size == 100 and part.etag == hashlib.md5(source[100:200]).hexdigest()
        assert part.checksums == {"CRC32": crc32(source[100:200])}
        whole = store.upload_part_copy(BUCKET, "dst", upload.upload_id, 2, BUCKET, "src")
        assert whole.size == len(source)
        with pytest.raises(InvalidRange):
            store.upload_part_copy(BUCKET, "dst", upload.upload_id, 3, BUCKET, "src", len(source), None)

    def test_uploads_list_by_key_then_initiation(self, store: ObjectStore) -> None:
        first = store.create_multipart_upload(BUCKET, "b", ObjectAttributes())
        second = store.create_multipart_upload(BUCKET, "b", ObjectAttributes())
        other = store.create_multipart_upload(BUCKET, "a", ObjectAttributes())
        elsewhere = store.create_multipart_upload(BUCKET, "z/x", ObjectAttributes())
        listed = store.list_multipart_uploads(BUCKET)
        assert [u.upload_id for u in listed] == [
            other.upload_id,
            first.upload_id,
            second.upload_id,
            elsewhere.upload_id,
        ]
        after = store.list_multipart_uploads(BUCKET, key_marker="b", upload_id_marker=first.upload_id)
        assert [u.upload_id for u in after] == [second.upload_id, elsewhere.upload_id]
        assert [u.upload_id for u in store.list_multipart_uploads(BUCKET, key_marker="b")] == [elsewhere.upload_id]
        assert [u.upload_id for u in store.list_multipart_uploads(BUCKET, prefix="z/")] == [elsewhere.upload_id]
        assert [u.upload_id for u in store.list_multipart_uploads(BUCKET, limit=1)] == [other.upload_id]

    # -- durability -------------------------------------------------------------------------------------

    def test_a_reopened_store_sees_everything(self, open_store: Callable[[], ObjectStore]) -> None:
        store = open_store()
        store.create_bucket("kept", "eu-central-1")
        store.put_object("kept", "k", io.BytesIO(b"durable"), ObjectAttributes(metadata={"a": "b"}))
        upload = store.create_multipart_upload("kept", "m", ObjectAttributes())
        part = store.upload_part("kept", "m", upload.upload_id, 1, io.BytesIO(b"part"))
        reopened = open_store()
        assert reopened.get_bucket("kept").region == "eu-central-1"
        assert reopened.head_object("kept", "k") == store.head_object("kept", "k")
        assert read_all(reopened, "kept", "k") == b"durable"
        assert reopened.list_parts("kept", "m", upload.upload_id) == [part]
