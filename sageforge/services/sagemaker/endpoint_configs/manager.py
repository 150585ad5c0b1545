"""The endpoint-configuration manager: the rules of CreateEndpointConfig and DeleteEndpointConfig.

A configuration is a record of the request as given (records carry ``CREATED``; configurations have no
status). Every production variant must name an existing model and be unique by name; an instance-based
variant needs its instance type and initial count (a serverless one runs as one instance here).
"""

from __future__ import annotations

from typing import Any

from sageforge.aws.errors import ValidationException
from sageforge.services.sagemaker.arns import resource_arn
from sageforge.services.sagemaker.models.manager import ModelManager
from sageforge.store.metadata.records import NoSuchRecord, Record, RecordExists, RecordStore

KIND = "EndpointConfig"
CREATED = "Created"


class EndpointConfigManager:
    def __init__(self, records: RecordStore, models: ModelManager) -> None:
        self._records = records
        self._models = models

    def create(self, account: str, region: str, request: dict[str, Any]) -> str:
        variants = request["ProductionVariants"]
        names = [variant["VariantName"] for variant in variants]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValidationException(f"ProductionVariants have duplicate VariantName(s): {', '.join(duplicates)}.")
        for variant in variants:
            if "ServerlessConfig" not in variant and (
                "InstanceType" not in variant or "InitialInstanceCount" not in variant
            ):
                raise ValidationException(
                    f"Production variant {variant['VariantName']} must specify InstanceType and InitialInstanceCount "
                    "or a ServerlessConfig."
                )
            if "ModelName" not in variant:
                raise ValidationException(f"Production variant {variant['VariantName']} must specify a ModelName.")
            self._models.describe(account, region, variant["ModelName"])
        name = request["EndpointConfigName"]
        arn = resource_arn(region, account, "endpoint-config", name)
        try:
            self._records.create(KIND, account, region, name, arn, CREATED, {"request": request})
        except RecordExists as exc:
            raise ValidationException(f'Cannot create already existing endpoint configuration "{arn}".') from exc
        if request.get("Tags"):
            self._records.add_tags(arn, {tag["Key"]: tag["Value"] for tag in request["Tags"]})
        return arn

    def describe(self, account: str, region: str, name: str) -> Record:
        try:
            return self._records.get(KIND, account, region, name)
        except NoSuchRecord as exc:
            arn = resource_arn(region, account, "endpoint-config", name)
            raise ValidationException(f'Could not find endpoint configuration "{arn}".') from exc

    def delete(self, account: str, region: str, name: str) -> None:
        self._records.delete(self.describe(account, region, name).arn)
