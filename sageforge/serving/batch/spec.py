"""What the batch controller is asked to run: one transform job as plain data.

The API layer translates a CreateTransformJob request and its model into a ``TransformSpec``, with the input
objects already planned (listed, or read from a manifest). Values left ``None`` are settled when the job
starts, from the container's ``GET /execution-parameters`` answer or SageMaker's defaults (``settle``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from sageforge.engine.channels import StagedObject
from sageforge.engine.workload import S3Location
from sageforge.serving.spec import DEFAULT_STARTUP_TIMEOUT, ModelSource

SplitType = Literal["None", "Line", "RecordIO", "TFRecord"]
BatchStrategy = Literal["MultiRecord", "SingleRecord"]
AssemblyType = Literal["None", "Line"]
JoinSource = Literal["None", "Input"]

# SageMaker's defaults when neither the request nor the container's /execution-parameters gives a value
# (developer guide, "How Containers Serve Requests"; botocore's MaxPayloadInMB and MaxConcurrentTransforms docs).
DEFAULT_MAX_PAYLOAD_IN_MB = 6
DEFAULT_MAX_CONCURRENT_TRANSFORMS = 1
DEFAULT_BATCH_STRATEGY: BatchStrategy = "MultiRecord"
# ModelClientConfig's documented defaults.
DEFAULT_INVOCATION_TIMEOUT = 600.0
DEFAULT_INVOCATION_MAX_RETRIES = 3
MIB = 1024 * 1024


@dataclass(frozen=True)
class DataProcessing:
    """InputFilter and OutputFilter (JSONPath) and JoinSource, as given; ``$`` selects everything."""

    input_filter: str = "$"
    output_filter: str = "$"
    join_source: JoinSource = "None"

    @property
    def active(self) -> bool:
        """Whether records must be looked at one by one (otherwise payloads are cut from raw bytes)."""
        return self.input_filter != "$" or self.output_filter != "$" or self.join_source == "Input"


@dataclass(frozen=True)
class ExecutionParameters:
    """The settled values a job runs with."""

    max_concurrent_transforms: int
    max_payload_in_mb: int
    batch_strategy: BatchStrategy

    @property
    def max_payload_bytes(self) -> int | None:
        """The request body limit; ``None`` when MaxPayloadInMB is 0 (no limit: objects go whole)."""
        return self.max_payload_in_mb * MIB or None


@dataclass(frozen=True)
class TransformSpec:
    """One transform job. ``key`` identifies it to the controller (the API layer uses its ARN); ``name`` names
    its log streams. ``environment`` is the container's, batch variables included."""

    key: str
    name: str
    image: str
    command: tuple[str, ...]
    environment: Mapping[str, str]
    files: tuple[ModelSource, ...]
    instance_type: str
    instance_count: int
    inputs: tuple[StagedObject, ...]
    output: S3Location
    content_type: str | None = None
    split_type: SplitType = "None"
    accept: str | None = None
    assemble_with: AssemblyType = "None"
    data_processing: DataProcessing = field(default_factory=DataProcessing)
    batch_strategy: BatchStrategy | None = None
    max_payload_in_mb: int | None = None
    max_concurrent_transforms: int | None = None
    invocation_timeout: float = DEFAULT_INVOCATION_TIMEOUT
    invocation_max_retries: int = DEFAULT_INVOCATION_MAX_RETRIES
    startup_timeout: float = DEFAULT_STARTUP_TIMEOUT

    def settle(self, answered: Mapping[str, object]) -> ExecutionParameters:
        """The values to run with: the request's, else the container's ``/execution-parameters`` answer
        (``answered``, already parsed; anything malformed in it is ignored), else SageMaker's defaults."""
        concurrency = self.max_concurrent_transforms or _positive(answered.get("MaxConcurrentTransforms"))
        payload = self.max_payload_in_mb
        if payload is None:
            payload = _positive(answered.get("MaxPayloadInMB"))
        strategy = self.batch_strategy or _STRATEGIES.get(str(answered.get("BatchStrategy")))
        return ExecutionParameters(
            max_concurrent_transforms=concurrency or DEFAULT_MAX_CONCURRENT_TRANSFORMS,
            max_payload_in_mb=DEFAULT_MAX_PAYLOAD_IN_MB if payload is None else payload,
            batch_strategy=strategy or DEFAULT_BATCH_STRATEGY,
        )


# How /execution-parameters and the container's environment spell the strategies.
STRATEGY_VARIABLES: dict[BatchStrategy, str] = {"MultiRecord": "MULTI_RECORD", "SingleRecord": "SINGLE_RECORD"}
_STRATEGIES: dict[str, BatchStrategy] = {value: key for key, value in STRATEGY_VARIABLES.items()}


def _positive(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None
