"""``S3ObjectStore`` against the object-store contract, with a sageforge server's S3 API as the remote, and a
second server passing its objects through to the first (``--object-store s3://``): what a client puts
through it, and what a training job reads and writes, is in the first."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sageforge.app import UnknownObjectStore
from sageforge.cli.main import main
from sageforge.settings import Settings
from sageforge.store.objects.base import ObjectStore
from sageforge.store.objects.s3 import S3ObjectStore, connect
from sageforge.testing.contracts.object_store import ObjectStoreContract
from sageforge.testing.server import RunningServer
from tests.sagemaker.support import breast_cancer_csvs, training_request, unique, wait_for_end


@pytest.fixture(scope="module")
def remote(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A sageforge server of this module's own: its S3 API is the remote S3-compatible store."""
    data_dir = tmp_path_factory.mktemp("remote-s3")
    with RunningServer(Settings(data_dir=data_dir, port=0, stop_grace_seconds=5)) as running:
        yield running


def connect_to(remote: RunningServer, spool: Path) -> S3ObjectStore:
    return connect(spool, endpoint_url=remote.url, region="us-east-1", access_key="test", secret_key="test")


def empty(remote: RunningServer) -> None:
    """Remove every bucket of the remote with its objects and uploads: each contract test starts on none."""
    s3 = remote.client("s3")
    for bucket in s3.list_buckets()["Buckets"]:
        name = bucket["Name"]
        for upload in s3.list_multipart_uploads(Bucket=name).get("Uploads", []):
            s3.abort_multipart_upload(Bucket=name, Key=upload["Key"], UploadId=upload["UploadId"])
        for entry in s3.list_objects_v2(Bucket=name).get("Contents", []):
            s3.delete_object(Bucket=name, Key=entry["Key"])
        s3.delete_bucket(Bucket=name)


class TestS3ObjectStore(ObjectStoreContract):
    @pytest.fixture
    def open_store(self, remote: RunningServer, tmp_path: Path) -> Callable[[], ObjectStore]:
        empty(remote)
        return lambda: connect_to(remote, tmp_path / "spool")


def test_an_unknown_object_store_is_a_startup_error(tmp_path: Path) -> None:
    with pytest.raises(UnknownObjectStore, match="unsupported object store 'minio://x'"):
        main(["serve", "--data-dir", str(tmp_path), "--object-store", "minio://x"])


def test_a_server_passing_through_keeps_its_objects_and_artifacts_in_the_remote(
    remote: RunningServer, tmp_path: Path
) -> None:
    settings = Settings(
        data_dir=tmp_path / "passthrough",
        port=0,
        stop_grace_seconds=5,
        object_store="s3://",
        object_store_endpoint_url=remote.url,
        object_store_access_key="test",
        object_store_secret_key="test",
    )
    bucket = unique("shared")
    with RunningServer(settings) as passthrough:
        s3, sagemaker = passthrough.client("s3"), passthrough.client("sagemaker")
        s3.create_bucket(Bucket=bucket)
        for key, body in breast_cancer_csvs().items():
            s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="text/csv")
        remote_s3 = remote.client("s3")
        train = remote_s3.get_object(Bucket=bucket, Key="bc/train/part-0.csv")
        assert train["Body"].read() == breast_cancer_csvs()["bc/train/part-0.csv"]
        assert train["ContentType"] == "text/csv"

        name = unique("passthrough")
        request: dict[str, Any] = training_request(name, bucket)
        request["HyperParameters"]["num_round"] = "5"
        sagemaker.create_training_job(**request)
        job = wait_for_end(sagemaker, name)
        assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")

    assert not (tmp_path / "passthrough" / "objects").exists()  # nothing was kept on the passthrough's disk
    archive = remote_s3.get_object(Bucket=bucket, Key=f"output/{name}/output/model.tar.gz")["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        assert "xgboost-model" in tar.getnames()
