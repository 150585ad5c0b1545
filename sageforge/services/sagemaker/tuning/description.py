"""What DescribeHyperParameterTuningJob shows of a tuning job's request: the request as stored, with the
members SageMaker fills in when the request leaves them out.

The SageMaker SDK's ``HyperparameterTuner.attach`` rebuilds a tuner and its estimator from this description
and reads several of those members without checking that they exist:

- ``HyperParameterTuningJobConfig.TrainingJobEarlyStoppingType`` (``Off``);
- all three kinds of ``ParameterRanges``, empty lists included, each range with its ``ScalingType`` (``Auto``);
- ``TrainingJobDefinition.AlgorithmSpecification.MetricDefinitions``: for a built-in algorithm, the
  definitions SageMaker registers on its training jobs, followed by the request's own and the
  ``ObjectiveMetric`` one the trials carry (as SageMaker describes them);
- ``TrainingJobDefinition.ResourceConfig``: the instances each trial runs on, also when the request gave them
  as ``HyperParameterTuningResourceConfig`` (which the SDK sends) and not as ``ResourceConfig``.

The three ``Enable*`` switches of the definition are described ``false`` when left out, as SageMaker does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sageforge.algorithms import registry
from sageforge.services.sagemaker.tuning.plan import TuningPlan, plan_tuning_job

_RANGE_KINDS = ("IntegerParameterRanges", "ContinuousParameterRanges", "CategoricalParameterRanges")
_SCALED_KINDS = ("IntegerParameterRanges", "ContinuousParameterRanges")
_SWITCHES = ("EnableNetworkIsolation", "EnableInterContainerTrafficEncryption", "EnableManagedSpotTraining")


def described_request(request: Mapping[str, Any]) -> dict[str, Any]:
    """``request``, a stored (so valid) CreateHyperParameterTuningJob request, as Describe shows it."""
    config = dict(request["HyperParameterTuningJobConfig"])
    config.setdefault("TrainingJobEarlyStoppingType", "Off")
    if "ParameterRanges" in config:
        config["ParameterRanges"] = _described_ranges(config["ParameterRanges"])
    described = {**request, "HyperParameterTuningJobConfig": config}
    definition = request.get("TrainingJobDefinition")
    if definition is not None:
        described["TrainingJobDefinition"] = _described_definition(definition, plan_tuning_job(request))
    return described


def _described_ranges(ranges: Mapping[str, Any]) -> dict[str, Any]:
    described = {**ranges, **{kind: list(ranges.get(kind, [])) for kind in _RANGE_KINDS}}
    for kind in _SCALED_KINDS:
        described[kind] = [{"ScalingType": "Auto", **item} for item in described[kind]]
    return described


def _described_definition(definition: Mapping[str, Any], plan: TuningPlan) -> dict[str, Any]:
    trial_algorithm = plan.trial_template["AlgorithmSpecification"]
    algorithm = {
        **definition["AlgorithmSpecification"],
        "MetricDefinitions": _metric_definitions(trial_algorithm, trial_algorithm.get("MetricDefinitions", [])),
    }
    return {
        **{switch: False for switch in _SWITCHES},
        **definition,
        "AlgorithmSpecification": algorithm,
        "ResourceConfig": plan.trial_template["ResourceConfig"],
    }


def _metric_definitions(algorithm: Mapping[str, Any], trials: list[dict[str, str]]) -> list[dict[str, str]]:
    """The built-in's registered definitions, then the trials' other ones (the training-job manager's order)."""
    resolved = registry.resolve(algorithm.get("TrainingImage") or algorithm.get("AlgorithmName") or "")
    if resolved is None:
        return list(trials)
    registered = [definition.to_api() for definition in resolved.algorithm.metric_definitions]
    names = {definition["Name"] for definition in registered}
    return registered + [definition for definition in trials if definition["Name"] not in names]
