"""The endpoint manager: the rules of CreateEndpoint, UpdateEndpoint, UpdateEndpointWeightsAndCapacities and
DeleteEndpoint, the record, and the bridge from the serving controller's outcomes to the record's status.

Each operation writes the desired state to the record first (with a fresh ``Operation`` token), then asks the
controller; the controller's outcome is applied by compare-and-set only if the token still matches. On
``recover`` (server start) every endpoint that served, or was being created, is deployed again from its
record; an update the previous server left half done is rolled back to the configuration that served.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from sageforge.aws.errors import ValidationException
from sageforge.services.sagemaker.arns import resource_arn
from sageforge.services.sagemaker.endpoint_configs.manager import EndpointConfigManager
from sageforge.services.sagemaker.endpoints import entities
from sageforge.services.sagemaker.endpoints.deployment import Unservable, endpoint_spec
from sageforge.services.sagemaker.endpoints.entities import EndpointStatus, Outcome, State
from sageforge.services.sagemaker.models.manager import ModelManager
from sageforge.serving.controller import DeploymentListener, ServingController
from sageforge.serving.spec import VariantChange
from sageforge.store.metadata.records import NoSuchRecord, Record, RecordExists, RecordStore

log = logging.getLogger(__name__)

KIND = "Endpoint"
# How long a starting server waits for the endpoints it brings back before it answers requests.
_RECOVERY_WAIT_SECONDS = 120.0
_RESTART_REASON = (
    "The sageforge server stopped while this endpoint was updating; the endpoint serves the configuration "
    "it served before the update."
)


class EndpointManager:
    def __init__(
        self, records: RecordStore, configs: EndpointConfigManager, models: ModelManager, controller: ServingController
    ) -> None:
        self._records = records
        self._configs = configs
        self._models = models
        self._controller = controller

    # --- operations -------------------------------------------------------------------------------------------

    def create(self, account: str, region: str, request: dict[str, Any]) -> str:
        name = request["EndpointName"]
        arn = resource_arn(region, account, "endpoint", name)
        taken = ValidationException(f'Cannot create already existing endpoint "{arn}".')
        if self._exists(account, region, name):
            raise taken  # before the configuration is looked at, as SageMaker checks
        config = self._configs.describe(account, region, request["EndpointConfigName"])
        operation = entities.new_operation()
        variants = self._variants(account, region, config)
        state = {"EndpointConfigName": config.name, "Variants": variants, "Operation": operation}
        try:
            self._records.create(
                KIND, account, region, name, arn, EndpointStatus.CREATING, {"request": request, "state": state}
            )
        except RecordExists as exc:
            raise taken from exc
        if request.get("Tags"):
            self._records.add_tags(arn, {tag["Key"]: tag["Value"] for tag in request["Tags"]})
        self._deploy(arn, name, variants, _Listener(self, arn, operation, entities.failed))
        return arn

    def describe(self, account: str, region: str, name: str) -> Record:
        try:
            return self._records.get(KIND, account, region, name)
        except NoSuchRecord as exc:
            raise ValidationException(f'Could not find endpoint "{name}".') from exc

    def update(self, account: str, region: str, request: dict[str, Any]) -> str:
        record = self._updatable(account, region, request["EndpointName"])
        config = self._configs.describe(account, region, request["EndpointConfigName"])
        variants = self._variants(account, region, config)
        if request.get("RetainAllVariantProperties"):
            excluded = {item["VariantPropertyType"] for item in request.get("ExcludeRetainedVariantProperties", [])}
            current = {v["VariantName"]: v for v in record.body["state"]["Variants"]}
            for variant in variants:
                kept = current.get(variant["VariantName"])
                for prop in ("DesiredWeight", "DesiredInstanceCount"):
                    if kept is not None and prop not in excluded:
                        variant[prop] = kept[prop]
        operation = entities.new_operation()
        pending = {"EndpointConfigName": config.name, "Variants": variants, "StartTime": time.time()}

        def start(state: State) -> State:
            changed = {key: value for key, value in state.items() if key != "FailureReason"}
            if "DeploymentConfig" in request:
                changed["LastDeploymentConfig"] = request["DeploymentConfig"]
            return {**changed, "Pending": pending, "Operation": operation}

        self._begin(record, start)
        self._deploy(record.arn, record.name, variants, _Listener(self, record.arn, operation, entities.rolled_back))
        return record.arn

    def update_weights_and_capacities(self, account: str, region: str, request: dict[str, Any]) -> str:
        record = self._updatable(account, region, request["EndpointName"])
        known = {v["VariantName"] for v in record.body["state"]["Variants"]}
        changes: dict[str, VariantChange] = {}
        for desired in request["DesiredWeightsAndCapacities"]:
            variant = desired["VariantName"]
            if variant not in known:
                raise ValidationException(f'The variant name "{variant}" is not present in endpoint "{record.arn}".')
            if "DesiredWeight" not in desired and "DesiredInstanceCount" not in desired:
                raise ValidationException(f"Variant {variant}: specify DesiredWeight, DesiredInstanceCount or both.")
            changes[variant] = VariantChange(desired.get("DesiredWeight"), desired.get("DesiredInstanceCount"))
        operation = entities.new_operation()

        def start(state: State) -> State:
            variants = []
            for variant in state["Variants"]:
                change = changes.get(variant["VariantName"])
                if change is not None:
                    variant = {**variant}
                    if change.weight is not None:
                        variant["DesiredWeight"] = float(change.weight)
                    if change.instance_count is not None:
                        variant["DesiredInstanceCount"] = change.instance_count
                variants.append(variant)
            changed = {key: value for key, value in state.items() if key != "FailureReason"}
            return {**changed, "Variants": variants, "Operation": operation}

        self._begin(record, start)
        self._controller.scale(record.arn, changes, _Listener(self, record.arn, operation, entities.rolled_back))
        return record.arn

    def delete(self, account: str, region: str, name: str) -> None:
        record = self.describe(account, region, name)
        self._controller.remove(record.arn)
        self._records.delete(record.arn)

    def recover(self, wait_seconds: float = _RECOVERY_WAIT_SECONDS) -> None:
        """Bring back every endpoint a previous server served or was creating, from its record, and wait (up to
        ``wait_seconds``) until they serve, so an endpoint that reads InService answers invocations."""
        listeners = []
        for record in self._records.with_status(KIND, entities.LIVE_STATUSES):
            log.info("bringing endpoint %s (%s) back up", record.name, record.status)
            operation = entities.new_operation()

            def change(current: Record, operation: str = operation) -> tuple[str, dict[str, Any]]:
                status, state = current.status, current.body["state"]
                if status == EndpointStatus.UPDATING:
                    status, state = entities.settle(status, state, entities.rolled_back(_RESTART_REASON))
                return status, {**current.body, "state": {**state, "Operation": operation}}

            recovered = self._records.update(record.arn, change)
            listener = _Listener(self, recovered.arn, operation, entities.failed)
            listeners.append(listener)
            self._deploy(recovered.arn, recovered.name, recovered.body["state"]["Variants"], listener)
        deadline = time.monotonic() + wait_seconds
        for listener in listeners:
            listener.settled.wait(max(0.0, deadline - time.monotonic()))

    def shutdown(self) -> None:
        self._controller.shutdown()

    # --- internals ----------------------------------------------------------------------------------------------

    def _variants(self, account: str, region: str, config: Record) -> list[dict[str, Any]]:
        now = time.time()
        return [
            entities.variant_state(pv, self._models.describe(account, region, pv["ModelName"]).body["request"], now)
            for pv in config.body["request"]["ProductionVariants"]
        ]

    def _exists(self, account: str, region: str, name: str) -> bool:
        try:
            self._records.get(KIND, account, region, name)
        except NoSuchRecord:
            return False
        return True

    def _updatable(self, account: str, region: str, name: str) -> Record:
        record = self.describe(account, region, name)
        if record.status != EndpointStatus.IN_SERVICE:
            raise ValidationException(f'Cannot update in-progress endpoint "{record.arn}".')
        return record

    def _begin(self, record: Record, start: Callable[[State], State]) -> None:
        """Move an InService endpoint to Updating with ``start(state)``, unless another request moved it first."""

        def change(current: Record) -> tuple[str, dict[str, Any]]:
            if current.status != EndpointStatus.IN_SERVICE:
                raise ValidationException(f'Cannot update in-progress endpoint "{current.arn}".')
            return EndpointStatus.UPDATING.value, {**current.body, "state": start(current.body["state"])}

        self._records.update(record.arn, change)

    def _deploy(self, arn: str, name: str, variants: list[dict[str, Any]], listener: _Listener) -> None:
        try:
            spec = endpoint_spec(arn, name, variants)
        except Unservable as problem:
            listener.on_failed(str(problem), time.time())
            return
        self._controller.deploy(spec, listener)

    def settle(self, arn: str, operation: str, outcome: Outcome) -> None:
        """Apply the outcome of deployment ``operation``, if the record still waits for it."""

        def change(record: Record) -> tuple[str, dict[str, Any]]:
            state = record.body["state"]
            if state.get("Operation") != operation:
                return record.status, record.body
            status, settled = entities.settle(record.status, state, outcome)
            return status, {**record.body, "state": settled}

        try:
            self._records.update(arn, change)
        except NoSuchRecord:
            pass  # deleted while it deployed


class _Listener(DeploymentListener):
    """One deployment's outcomes, written to the endpoint's record: serving, or ``on_failure(reason)``."""

    def __init__(
        self, manager: EndpointManager, arn: str, operation: str, on_failure: Callable[[str], Outcome]
    ) -> None:
        self._manager = manager
        self._arn = arn
        self._operation = operation
        self._on_failure = on_failure
        self.settled = threading.Event()

    def on_serving(self, at: float) -> None:
        self._manager.settle(self._arn, self._operation, entities.serving)
        self.settled.set()

    def on_failed(self, reason: str, at: float) -> None:
        self._manager.settle(self._arn, self._operation, self._on_failure(reason))
        self.settled.set()
