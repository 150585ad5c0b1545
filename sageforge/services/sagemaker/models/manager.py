"""The model manager: the rules of CreateModel and DeleteModel, and lookups for the endpoint managers.

A model is a record of the CreateModel request as given; it has no status of its own (records carry
``CREATED``). ``Containers`` (up to 15, botocore's limit) make an inference pipeline, run Serial; Direct mode is
refused. Endpoints copy what they need of a model when they deploy it, so deleting a model never
affects an endpoint that serves it, as in SageMaker.
"""

from __future__ import annotations

from typing import Any

from sageforge.aws.errors import ValidationException
from sageforge.services.sagemaker.arns import resource_arn
from sageforge.store.metadata.records import NoSuchRecord, Record, RecordExists, RecordStore

KIND = "Model"
CREATED = "Created"


def containers(request: dict[str, Any]) -> list[dict[str, Any]]:
    """The model's container definitions: ``Containers``, or the one ``PrimaryContainer``."""
    listed: list[dict[str, Any]] = request.get("Containers") or [request["PrimaryContainer"]]
    return listed


class ModelManager:
    def __init__(self, records: RecordStore) -> None:
        self._records = records

    def create(self, account: str, region: str, request: dict[str, Any]) -> str:
        has_primary, has_list = "PrimaryContainer" in request, bool(request.get("Containers"))
        if has_primary == has_list:
            raise ValidationException("Exactly one of PrimaryContainer or Containers must be specified.")
        mode = request.get("InferenceExecutionConfig", {}).get("Mode", "Serial")
        if mode != "Serial":
            # Direct invocation (TargetContainerHostname picks a container) is a feature of its own.
            raise ValidationException(
                f"InferenceExecutionConfig.Mode {mode} is not supported by sageforge; multi-container models are "
                "served as Serial inference pipelines."
            )
        for container in containers(request):
            url = container.get("ModelDataUrl")
            if url is not None and not url.startswith("s3://"):
                raise ValidationException(
                    f"ModelDataUrl '{url}' is not a valid S3 URI; it must look like s3://bucket/key."
                )
            if not container.get("Image") and not container.get("ModelPackageName"):
                raise ValidationException("Each container must specify an Image or a ModelPackageName.")
        arn = resource_arn(region, account, "model", request["ModelName"])
        try:
            self._records.create(KIND, account, region, request["ModelName"], arn, CREATED, {"request": request})
        except RecordExists as exc:
            raise ValidationException(f'Cannot create already existing model "{arn}".') from exc
        if request.get("Tags"):
            self._records.add_tags(arn, {tag["Key"]: tag["Value"] for tag in request["Tags"]})
        return arn

    def describe(self, account: str, region: str, name: str) -> Record:
        try:
            return self._records.get(KIND, account, region, name)
        except NoSuchRecord as exc:
            raise ValidationException(
                f'Could not find model "{resource_arn(region, account, "model", name)}".'
            ) from exc

    def delete(self, account: str, region: str, name: str) -> None:
        self._records.delete(self.describe(account, region, name).arn)
