"""Endpoint records: their status machine and the state changes each deployment outcome makes, as data.

A record keeps the CreateEndpoint request as given and a ``state``:

- ``EndpointConfigName``: the configuration that serves (or is being created);
- ``Variants``: one entry per production variant (``variant_state``): what it deploys -- a copy of its model's
  containers, so deleting the model does not touch the endpoint -- and its desired and current weight and
  instance count (current ones once it serves);
- ``Pending``: during UpdateEndpoint, the configuration being deployed (``EndpointConfigName``, ``Variants``,
  ``StartTime``);
- ``Operation``: a token naming the deployment under way; an outcome carrying another token is stale (the
  endpoint was deleted and created again, or the server restarted) and changes nothing;
- ``FailureReason``.

Every outcome is a pure function of the state; ``settle`` applies one and checks the move against
``TRANSITIONS``. The endpoint's desired state (variants, weights, counts, configuration) is all in the
record, so a restarted server brings the endpoint back from it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from enum import StrEnum
from typing import Any


class EndpointStatus(StrEnum):
    CREATING = "Creating"
    UPDATING = "Updating"
    IN_SERVICE = "InService"
    FAILED = "Failed"


S = EndpointStatus
TRANSITIONS: dict[EndpointStatus, frozenset[EndpointStatus]] = {
    S.CREATING: frozenset({S.IN_SERVICE, S.FAILED}),
    # An update that fails rolls back: the endpoint serves its old configuration, InService with a reason.
    S.IN_SERVICE: frozenset({S.UPDATING, S.FAILED}),
    S.UPDATING: frozenset({S.IN_SERVICE}),
    S.FAILED: frozenset(),
}
# Statuses in which the endpoint serves, or should: a restarted server brings these back up.
LIVE_STATUSES = (S.CREATING.value, S.IN_SERVICE.value, S.UPDATING.value)

State = dict[str, Any]
Outcome = Callable[[State], tuple[EndpointStatus, State]]


class InvalidTransition(Exception):
    pass


def new_operation() -> str:
    return secrets.token_hex(8)


def variant_state(production_variant: dict[str, Any], model_request: dict[str, Any], at: float) -> dict[str, Any]:
    """What a variant deploys and wants, from a ProductionVariant and its model's CreateModel request."""
    listed = model_request.get("Containers") or [model_request["PrimaryContainer"]]
    kept = ("Image", "ModelDataUrl", "ModelDataSource", "Environment", "ContainerHostname")
    state: dict[str, Any] = {
        "VariantName": production_variant["VariantName"],
        "ModelName": production_variant["ModelName"],
        "InstanceType": production_variant.get("InstanceType", "ml.m5.large"),
        "Containers": [{key: container[key] for key in kept if key in container} for container in listed],
        "DesiredWeight": float(production_variant.get("InitialVariantWeight", 1.0)),
        "DesiredInstanceCount": int(production_variant.get("InitialInstanceCount", 1)),
        "ResolutionTime": at,
    }
    timeout = production_variant.get("ContainerStartupHealthCheckTimeoutInSeconds")
    if timeout is not None:
        state["StartupTimeoutInSeconds"] = timeout
    return state


def settle(status: str, state: State, outcome: Outcome) -> tuple[str, State]:
    """The status and state after ``outcome``; raises InvalidTransition for a move the table forbids."""
    current = EndpointStatus(status)
    to, changed = outcome(state)
    if to is not current and to not in TRANSITIONS[current]:
        raise InvalidTransition(f"{current.value} -> {to.value}")
    return to.value, {key: value for key, value in changed.items() if key != "Operation"}


# --- outcomes -------------------------------------------------------------------------------------------------


def serving(state: State) -> tuple[EndpointStatus, State]:
    """What was deployed serves: a pending configuration becomes the endpoint's, and every variant's current
    weight and count are its desired ones."""
    pending = state.get("Pending")
    variants = pending["Variants"] if pending else state["Variants"]
    changed = {key: value for key, value in state.items() if key not in ("Pending", "FailureReason")}
    if pending:
        changed["EndpointConfigName"] = pending["EndpointConfigName"]
    changed["Variants"] = [
        {**v, "CurrentWeight": v["DesiredWeight"], "CurrentInstanceCount": v["DesiredInstanceCount"]} for v in variants
    ]
    return S.IN_SERVICE, changed


def failed(reason: str) -> Outcome:
    """A creation (or a restart's redeployment) that failed: nothing serves."""

    def outcome(state: State) -> tuple[EndpointStatus, State]:
        return S.FAILED, {**state, "FailureReason": reason[:1024]}

    return outcome


def rolled_back(reason: str) -> Outcome:
    """An update or a scaling that failed: the old fleet serves on, desired values return to the current ones."""

    def outcome(state: State) -> tuple[EndpointStatus, State]:
        changed = {key: value for key, value in state.items() if key != "Pending"}
        changed["Variants"] = [
            {
                **v,
                "DesiredWeight": v.get("CurrentWeight", v["DesiredWeight"]),
                "DesiredInstanceCount": v.get("CurrentInstanceCount", v["DesiredInstanceCount"]),
            }
            for v in state["Variants"]
        ]
        changed["FailureReason"] = reason[:1024]
        return S.IN_SERVICE, changed

    return outcome
