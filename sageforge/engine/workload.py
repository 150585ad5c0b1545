"""What the engine is asked to run: a training workload as frozen, AWS-free values.

The training-job manager builds one ``TrainingWorkload`` from a validated ``CreateTrainingJob`` request (image
already resolved to a command) and hands it to ``TrainingEngine.submit``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from sageforge.engine.errors import InvalidS3Uri

DataType = Literal["S3Prefix", "ManifestFile"]
Distribution = Literal["FullyReplicated", "ShardedByS3Key"]
Compression = Literal["None", "Gzip"]
# FastFile is staged as File: the data is read the same way, only SageMaker's lazy download is not imitated.
InputMode = Literal["File", "Pipe", "FastFile"]
RecordWrapper = Literal["None", "RecordIO"]


@dataclass(frozen=True)
class S3Location:
    """A bucket and a key (or key prefix); ``key`` is ``""`` for a whole bucket."""

    bucket: str
    key: str = ""

    @classmethod
    def parse(cls, uri: str) -> S3Location:
        """Split ``s3://bucket/key``; raise ``InvalidS3Uri`` for anything else."""
        scheme, sep, rest = uri.partition("://")
        if scheme != "s3" or not sep:
            raise InvalidS3Uri(f"not an S3 URI: {uri!r}")
        bucket, _, key = rest.partition("/")
        if not bucket:
            raise InvalidS3Uri(f"S3 URI without a bucket: {uri!r}")
        return cls(bucket, key)

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def join(self, *parts: str) -> S3Location:
        """This location treated as a folder, extended by ``parts`` (``s3://b/out`` + ``job`` -> ``s3://b/out/job``)."""
        folder = self.key.rstrip("/")
        key = "/".join([folder, *parts] if folder else parts)
        return S3Location(self.bucket, key)


@dataclass(frozen=True)
class ChannelSpec:
    """One input channel (``InputDataConfig`` entry) with an S3 data source."""

    name: str
    uri: S3Location
    data_type: DataType = "S3Prefix"
    distribution: Distribution = "FullyReplicated"
    compression: Compression = "None"
    content_type: str | None = None
    input_mode: InputMode = "File"
    record_wrapper: RecordWrapper = "None"

    @property
    def is_pipe(self) -> bool:
        """Streamed through FIFOs (engine/pipes.py) rather than staged into a folder."""
        return self.input_mode == "Pipe"


class MetricDefinition(NamedTuple):
    """A metric scraped from log lines: the first capture group of ``regex`` is the value (a ``(name, regex)`` pair)."""

    name: str
    regex: str


@dataclass(frozen=True)
class TrainingWorkload:
    """Everything needed to run one training job, and nothing about how it was asked for."""

    job_name: str
    job_arn: str
    region: str
    instance_type: str
    instance_count: int
    # argv run in each instance with the instance directory as working directory.
    command: tuple[str, ...]
    output: S3Location
    environment: Mapping[str, str] = field(default_factory=dict)
    hyperparameters: Mapping[str, str] = field(default_factory=dict)
    channels: tuple[ChannelSpec, ...] = ()
    checkpoint: S3Location | None = None
    max_runtime_seconds: float = 86400.0
    metric_definitions: tuple[MetricDefinition, ...] = ()
    # Named in the "no S3 objects found" failure message, as SageMaker does.
    role_arn: str | None = None
    # The training image URI; container backends run it, the local backend runs ``command`` directly.
    image: str | None = None
    # Script mode's code: a ``.tar.gz`` (the SDK's sourcedir.tar.gz) extracted into each instance's ``code/``.
    source_code: S3Location | None = None
    # Run ``image`` itself (``<image> train``) on the engine's container backend instead of ``command``.
    runs_image: bool = False

    @property
    def hosts(self) -> tuple[str, ...]:
        """Host names in SageMaker's order: ``algo-1`` .. ``algo-N``."""
        return tuple(f"algo-{n}" for n in range(1, self.instance_count + 1))
