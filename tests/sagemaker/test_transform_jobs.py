"""Batch transform through boto3: a built-in XGBoost model scoring stored CSV and JSON lines as the booster
does, every split type and batch strategy, manifests, DataProcessing, a first-party model on RecordIO-protobuf,
failures named by object, stopping, listing, logs and the API's errors. Every response is checked against botocore's output shapes."""

from __future__ import annotations

import gzip
import io
import json
import os
import tarfile
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from botocore.exceptions import ClientError

from sageforge.algorithms.formats import mxnet_ndarray
from sageforge.algorithms.formats.recordio_protobuf import write_dense
from tests.hosting import FEATURES, Hosting, csv_body, local_predictions
from tests.sagemaker.support import unique

ACCOUNT_ARN = "arn:aws:sagemaker:us-east-1:000000000000"
ENDED = ("Completed", "Failed", "Stopped")
GROUP = "/aws/sagemaker/TransformJobs"


class Transforms:
    """Transform jobs on the shared server, reading and writing the test's bucket. At the end every job still
    running is stopped, and no replica process may be left."""

    def __init__(self, hosting: Hosting) -> None:
        self.hosting = hosting
        self.sagemaker = hosting.sagemaker
        self.s3 = hosting.s3
        self.bucket = hosting.bucket
        self._jobs: list[str] = []

    def put(self, key: str, body: bytes) -> str:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)
        return f"s3://{self.bucket}/{key}"

    def create(
        self,
        model: str,
        source: str,
        *,
        name: str | None = None,
        data_type: str = "S3Prefix",
        content_type: str = "text/csv",
        split_type: str = "Line",
        compression: str = "None",
        output: str = "out",
        accept: str | None = None,
        assemble_with: str = "Line",
        **request: Any,
    ) -> str:
        name = name or unique("transform")
        transform_output = {"S3OutputPath": f"s3://{self.bucket}/{output}", "AssembleWith": assemble_with}
        if accept:
            transform_output["Accept"] = accept
        self.sagemaker.create_transform_job(
            TransformJobName=name,
            ModelName=model,
            TransformInput={
                "DataSource": {"S3DataSource": {"S3DataType": data_type, "S3Uri": f"s3://{self.bucket}/{source}"}},
                "ContentType": content_type,
                "SplitType": split_type,
                "CompressionType": compression,
            },
            TransformOutput=transform_output,
            TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1},
            **request,
        )
        self._jobs.append(name)
        return name

    def describe(self, name: str) -> dict[str, Any]:
        description: dict[str, Any] = self.sagemaker.describe_transform_job(TransformJobName=name)
        return description

    def wait(
        self, name: str, until: Callable[[dict[str, Any]], bool] | None = None, timeout: float = 90
    ) -> dict[str, Any]:
        """The job's description once ``until`` holds (by default: once it has ended)."""
        deadline = time.monotonic() + timeout
        while True:
            description = self.describe(name)
            if (until or (lambda d: d["TransformJobStatus"] in ENDED))(description):
                return description
            assert time.monotonic() < deadline, f"{name} is still {description['TransformJobStatus']}"
            time.sleep(0.05)

    def completed(self, name: str) -> dict[str, Any]:
        description = self.wait(name)
        assert description["TransformJobStatus"] == "Completed", description.get("FailureReason")
        return description

    def output(self, key: str) -> bytes:
        body: bytes = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return body

    def outputs(self, prefix: str = "out/") -> list[str]:
        listed = self.s3.list_objects_v2(Bucket=self.bucket, Prefix=prefix).get("Contents", [])
        return [item["Key"] for item in listed]

    def cleanup(self) -> None:
        for name in self._jobs:
            if self.describe(name)["TransformJobStatus"] == "InProgress":
                self.sagemaker.stop_transform_job(TransformJobName=name)
        for name in self._jobs:
            self.wait(name)
        batch = self.hosting.server.app.state.platform.batch
        deadline = time.monotonic() + 30
        while batch.replica_count():
            assert time.monotonic() < deadline, f"{batch.replica_count()} transform replica(s) leaked"
            time.sleep(0.05)


@pytest.fixture
def transforms(hosting: Hosting) -> Iterator[Transforms]:
    helper = Transforms(hosting)
    yield helper
    helper.cleanup()


def error_of(call: Any, **params: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as caught:
        call(**params)
    error: dict[str, Any] = caught.value.response["Error"]
    return error


def scores(body: bytes) -> list[float]:
    return [float(line) for line in body.decode().splitlines()]


def test_xgboost_scores_gzip_csv_objects_in_multi_record_requests_as_the_booster_does(transforms: Transforms) -> None:
    # Over a megabyte of rows: MultiRecord cuts it into several requests, two in flight at a time.
    many = np.tile(FEATURES, (6, 1))
    pieces = {"in/a.csv.gz": many, "in/nested/b.csv.gz": FEATURES[:50], "in/c.csv.gz": FEATURES[50:120]}
    for key, rows in pieces.items():
        transforms.put(key, gzip.compress(csv_body(rows) + b"\n"))
    model = transforms.hosting.model()
    name = transforms.create(
        model,
        "in/",
        compression="Gzip",
        BatchStrategy="MultiRecord",
        MaxPayloadInMB=1,
        MaxConcurrentTransforms=2,
        Environment={"SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv"},
        ModelClientConfig={"InvocationsTimeoutInSeconds": 30, "InvocationsMaxRetries": 1},
        Tags=[{"Key": "team", "Value": "scoring"}],
    )
    described = transforms.completed(name)

    assert transforms.outputs() == ["out/a.csv.gz.out", "out/c.csv.gz.out", "out/nested/b.csv.gz.out"]
    for key, rows in pieces.items():
        assert scores(transforms.output("out/" + key.removeprefix("in/") + ".out")) == local_predictions(rows)
    arn = f"{ACCOUNT_ARN}:transform-job/{name}"
    assert {key: described[key] for key in described if key != "ResponseMetadata"} == {
        "TransformJobName": name,
        "TransformJobArn": arn,
        "TransformJobStatus": "Completed",
        "ModelName": model,
        "MaxConcurrentTransforms": 2,
        "MaxPayloadInMB": 1,
        "BatchStrategy": "MultiRecord",
        "Environment": {"SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv"},
        "ModelClientConfig": {"InvocationsTimeoutInSeconds": 30, "InvocationsMaxRetries": 1},
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{transforms.bucket}/in/"}},
            "ContentType": "text/csv",
            "SplitType": "Line",
            "CompressionType": "Gzip",
        },
        "TransformOutput": {"S3OutputPath": f"s3://{transforms.bucket}/out", "AssembleWith": "Line"},
        "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
        "DataProcessing": {"InputFilter": "$", "OutputFilter": "$", "JoinSource": "None"},
        "CreationTime": described["CreationTime"],
        "TransformStartTime": described["TransformStartTime"],
        "TransformEndTime": described["TransformEndTime"],
    }
    assert described["CreationTime"] <= described["TransformStartTime"] <= described["TransformEndTime"]
    assert transforms.sagemaker.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "scoring"}]

    logs = transforms.hosting.server.client("logs")
    streams = logs.describe_log_streams(logGroupName=GROUP, logStreamNamePrefix=f"{name}/")["logStreams"]
    instance, data_log = sorted(stream["logStreamName"] for stream in streams)
    assert instance.startswith(f"{name}/i-") and data_log == f"{instance}/data-log"

    def messages(stream: str) -> list[str]:
        return [event["message"] for event in logs.get_log_events(logGroupName=GROUP, logStreamName=stream)["events"]]

    assert any("loading the model" in message for message in messages(instance))
    assert messages(data_log) == [
        "[sagemaker logs]: MaxConcurrentTransforms=2, MaxPayloadInMB=1, BatchStrategy=MULTI_RECORD"
    ]


def test_single_records_and_whole_objects(transforms: Transforms) -> None:
    transforms.put("single/rows.csv", csv_body(FEATURES[:25]) + b"\n")
    transforms.put("whole/rows.csv", csv_body(FEATURES[25:60]))
    model = transforms.hosting.model()
    single = transforms.create(model, "single/", output="out/single", BatchStrategy="SingleRecord")
    whole = transforms.create(model, "whole/", output="out/whole", split_type="None", assemble_with="None")
    described = transforms.completed(single)
    assert scores(transforms.output("out/single/rows.csv.out")) == local_predictions(FEATURES[:25])
    assert described["BatchStrategy"] == "SingleRecord"
    # Left to the container: sageforge's runtime answers its CPU count.
    assert described["MaxConcurrentTransforms"] == os.cpu_count()
    transforms.completed(whole)
    assert scores(transforms.output("out/whole/rows.csv.out")) == local_predictions(FEATURES[25:60])


def test_a_manifest_names_the_objects_and_their_output_keys(transforms: Transforms) -> None:
    transforms.put("data/part-1.csv", csv_body(FEATURES[:10]))
    transforms.put("data/deeper/part-2.csv", csv_body(FEATURES[10:30]))
    transforms.put("data/not-listed.csv", b"not,numbers\n")
    manifest = [{"prefix": f"s3://{transforms.bucket}/data/"}, "deeper/part-2.csv", "part-1.csv"]
    transforms.put("inputs.manifest", json.dumps(manifest).encode())
    model = transforms.hosting.model()
    transforms.completed(transforms.create(model, "inputs.manifest", data_type="ManifestFile"))
    assert transforms.outputs() == ["out/deeper/part-2.csv.out", "out/part-1.csv.out"]
    assert scores(transforms.output("out/part-1.csv.out")) == local_predictions(FEATURES[:10])
    assert scores(transforms.output("out/deeper/part-2.csv.out")) == local_predictions(FEATURES[10:30])


def test_recordio_protobuf_is_split_at_record_boundaries(transforms: Transforms) -> None:
    many, few = np.tile(FEATURES, (20, 1)), FEATURES[:30]
    transforms.put("multi/rows.pbr", write_dense(many.astype(np.float32)))
    transforms.put("single/rows.pbr", write_dense(few.astype(np.float32)))
    model = transforms.hosting.model()
    protobuf = {"content_type": "application/x-recordio-protobuf", "split_type": "RecordIO", "accept": "text/csv"}
    # Over a megabyte of records: several requests, each of whole records.
    multi = transforms.create(model, "multi/", output="out/multi", MaxPayloadInMB=1, **protobuf)
    single = transforms.create(model, "single/", output="out/single", BatchStrategy="SingleRecord", **protobuf)
    transforms.completed(multi)
    transforms.completed(single)
    assert scores(transforms.output("out/multi/rows.pbr.out")) == local_predictions(many)
    assert scores(transforms.output("out/single/rows.pbr.out")) == local_predictions(few)


def test_data_processing_keeps_an_id_beside_each_prediction(transforms: Transforms) -> None:
    rows = FEATURES[:40]
    ids = [f"id-{n}" for n in range(len(rows))]
    transforms.put(
        "csv/rows.csv",
        b"".join(f"{i},".encode() + csv_body(row[None, :]) + b"\n" for i, row in zip(ids, rows, strict=True)),
    )
    json_lines = "".join(
        json.dumps({"id": i, "features": row.tolist()}) + "\n" for i, row in zip(ids, rows, strict=True)
    )
    transforms.put("json/rows.jsonl", json_lines.encode())
    model = transforms.hosting.model()
    csv_job = transforms.create(
        model,
        "csv/",
        output="out/csv",
        accept="text/csv",
        DataProcessing={"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$[0,-1]"},
    )
    json_job = transforms.create(
        model,
        "json/",
        output="out/json",
        content_type="application/jsonlines",
        accept="application/jsonlines",
        DataProcessing={
            "InputFilter": "$.features",
            "JoinSource": "Input",
            "OutputFilter": "$['id','SageMakerOutput']",
        },
    )
    transforms.completed(csv_job)
    transforms.completed(json_job)
    expected = local_predictions(rows)
    joined = [line.split(",") for line in transforms.output("out/csv/rows.csv.out").decode().splitlines()]
    assert [(i, float(score)) for i, score in joined] == list(zip(ids, expected, strict=True))
    records = [json.loads(line) for line in transforms.output("out/json/rows.jsonl.out").decode().splitlines()]
    assert records == [{"id": i, "SageMakerOutput": {"score": score}} for i, score in zip(ids, expected, strict=True)]


def test_failures_name_the_object_and_what_went_wrong(transforms: Transforms) -> None:
    bad_row = ",".join(["1.0"] * 29 + ["abc"]).encode()
    transforms.put("mixed/good.csv", csv_body(FEATURES[:5]))
    transforms.put("mixed/bad.csv", csv_body(FEATURES[:3]) + b"\n" + bad_row + b"\n")
    transforms.put("long/line.csv", b"1," * 600_000 + b"1\n")
    model = transforms.hosting.model()
    malformed = transforms.create(model, "mixed/", output="out/mixed")
    too_long = transforms.create(model, "long/", output="out/long", MaxPayloadInMB=1)
    too_big = transforms.create(model, "long/", output="out/big", split_type="None", MaxPayloadInMB=1)

    failed = transforms.wait(malformed)
    assert failed["TransformJobStatus"] == "Failed"
    assert failed["FailureReason"].startswith(
        f"ClientError: s3://{transforms.bucket}/mixed/bad.csv: the model container answered 415: Loading csv data "
        "failed"
    )
    assert "line 4, column 30: 'abc' is not a number" in failed["FailureReason"]
    # The object that could be transformed was, as SageMaker does; the failed one left nothing.
    assert transforms.outputs() == ["out/mixed/good.csv.out"]
    assert transforms.wait(too_long)["FailureReason"] == (
        f"ClientError: s3://{transforms.bucket}/long/line.csv: a record is larger than the maximum payload size "
        "(MaxPayloadInMB: 1); raise MaxPayloadInMB or split the input into smaller records."
    )
    assert "the object is larger than the maximum payload size" in transforms.wait(too_big)["FailureReason"]
    summaries = transforms.sagemaker.list_transform_jobs(NameContains=malformed)["TransformJobSummaries"]
    assert [(s["TransformJobStatus"], s["FailureReason"]) for s in summaries] == [("Failed", failed["FailureReason"])]


def test_stopping_a_running_job_stores_nothing(transforms: Transforms) -> None:
    # One record per request, one request at a time: long enough to be stopped in the middle.
    transforms.put("slow/rows.csv", csv_body(np.tile(FEATURES, (20, 1))))
    name = transforms.create(
        transforms.hosting.model(), "slow/", BatchStrategy="SingleRecord", MaxConcurrentTransforms=1
    )
    transforms.wait(name, lambda d: "TransformStartTime" in d)
    transforms.sagemaker.stop_transform_job(TransformJobName=name)
    assert transforms.describe(name)["TransformJobStatus"] in ("Stopping", "Stopped")
    stopped = transforms.wait(name)
    assert stopped["TransformJobStatus"] == "Stopped" and "FailureReason" not in stopped
    assert transforms.outputs() == []
    assert error_of(transforms.sagemaker.stop_transform_job, TransformJobName=name) == {
        "Code": "ValidationException",
        "Message": "The request was rejected because the transform job is in status Stopped.",
    }


def test_the_api_refuses_what_sagemaker_refuses(transforms: Transforms) -> None:
    sagemaker = transforms.sagemaker
    transforms.put("in/rows.csv", csv_body(FEATURES[:3]))
    model = transforms.hosting.model()
    assert error_of(transforms.create, model="no-such-model", source="in/") == {
        "Code": "ValidationException",
        "Message": f'Could not find model "{ACCOUNT_ARN}:model/no-such-model".',
    }
    name = transforms.create(model, "in/")
    taken = error_of(transforms.create, model=model, source="in/", name=name)
    assert taken["Code"] == "ResourceInUse" and f"{ACCOUNT_ARN}:transform-job/{name}" in taken["Message"]
    transforms.completed(name)
    assert error_of(sagemaker.stop_transform_job, TransformJobName=name) == {
        "Code": "ValidationException",
        "Message": "The request was rejected because the transform job is in status Completed.",
    }
    assert error_of(sagemaker.describe_transform_job, TransformJobName="no-such-job") == {
        "Code": "ValidationException",
        "Message": "Could not find requested job with name no-such-job",
    }
    nothing = error_of(transforms.create, model=model, source="nothing-here/")
    assert nothing["Code"] == "ValidationException"
    assert nothing["Message"].startswith(f'No S3 objects found under S3 URL "s3://{transforms.bucket}/nothing-here/"')
    assert error_of(transforms.create, model=model, source="in/", MaxPayloadInMB=50, MaxConcurrentTransforms=4) == {
        "Code": "ValidationException",
        "Message": "MaxConcurrentTransforms (4) times MaxPayloadInMB (50) must be at most 100.",
    }
    assert error_of(transforms.create, model=model, source="in/", MaxPayloadInMB=101)["Code"] == "ValidationException"
    bad_filter = error_of(transforms.create, model=model, source="in/", DataProcessing={"InputFilter": "$..x"})
    assert bad_filter["Code"] == "ValidationException" and "$..x" in bad_filter["Message"]


def test_a_model_sageforge_cannot_run_makes_a_failed_job_and_listing_filters_sorts_and_pages(
    transforms: Transforms,
) -> None:
    transforms.put("in/rows.csv", csv_body(FEATURES[:3]))
    model = transforms.hosting.model(Image="111122223333.dkr.ecr.us-east-1.amazonaws.com/my-own-image:1")
    prefix = unique("listed")
    names = [transforms.create(model, "in/", name=f"{prefix}-{n}") for n in (2, 0, 1)]
    failed = transforms.wait(names[0])
    assert failed["TransformJobStatus"] == "Failed" and "TransformStartTime" not in failed
    assert "is not a built-in algorithm image that sageforge can serve" in failed["FailureReason"]

    def listed(**params: Any) -> list[str]:
        page = transforms.sagemaker.list_transform_jobs(NameContains=prefix, **params)
        return [summary["TransformJobName"] for summary in page["TransformJobSummaries"]]

    assert listed() == names[::-1]  # newest first
    assert listed(SortBy="Name", SortOrder="Ascending") == sorted(names)
    assert listed(StatusEquals="Completed") == []
    earlier = failed["CreationTime"] - timedelta(minutes=1)
    assert listed(StatusEquals="Failed", CreationTimeAfter=earlier, LastModifiedTimeAfter=earlier) == names[::-1]
    assert listed(CreationTimeBefore=earlier) == listed(LastModifiedTimeBefore=earlier) == []
    first = transforms.sagemaker.list_transform_jobs(NameContains=prefix, SortBy="Name", MaxResults=2)
    assert [s["TransformJobName"] for s in first["TransformJobSummaries"]] == sorted(names, reverse=True)[:2]
    rest = transforms.sagemaker.list_transform_jobs(
        NameContains=prefix, SortBy="Name", MaxResults=2, NextToken=first["NextToken"]
    )
    assert [s["TransformJobName"] for s in rest["TransformJobSummaries"]] == [sorted(names)[0]]
    assert "NextToken" not in rest


def test_a_first_party_model_scores_recordio_protobuf_into_json_lines(transforms: Transforms) -> None:
    """A K-Means model made by hand (an MXNet NDArray file of centroids, as SageMaker's examples host) scores
    RecordIO-protobuf split at record boundaries, answering JSON Lines assembled by line (the settings the
    reference recommends for first-party algorithms)."""
    centroids = np.array([[0.0, 0.0, 0.0], [10.0, 10.0, 10.0], [-10.0, 5.0, 0.0]], dtype=np.float32)
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        data = mxnet_ndarray.write([centroids])
        member = tarfile.TarInfo("model_algo-1")
        member.size = len(data)
        tar.addfile(member, io.BytesIO(data))
    artifact = transforms.put("kmeans/model.tar.gz", archive.getvalue())
    model = transforms.hosting.model(artifact, Image="382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1")
    rows = np.random.default_rng(5).normal(size=(300, 3)).astype(np.float32) + centroids[np.arange(300) % 3]
    transforms.put("kmeans-in/rows.pbr", write_dense(rows))
    name = transforms.create(
        model,
        "kmeans-in/",
        content_type="application/x-recordio-protobuf",
        split_type="RecordIO",
        accept="application/jsonlines",
        BatchStrategy="MultiRecord",
        MaxPayloadInMB=1,
    )
    transforms.completed(name)
    answers = [json.loads(line) for line in transforms.output("out/rows.pbr.out").decode().splitlines()]
    distances = np.linalg.norm(rows[:, None, :] - centroids[None, :, :], axis=2)
    assert [answer["closest_cluster"] for answer in answers] == np.argmin(distances, axis=1).astype(float).tolist()
    assert [answer["distance_to_cluster"] for answer in answers] == pytest.approx(distances.min(axis=1), rel=1e-4)
