"""A CreateHyperParameterTuningJob request checked against the rules its botocore shape cannot express, and
turned into a ``TuningPlan``: the search to run and the CreateTrainingJob request of each trial.

Every refusal is a ValidationException worded after SageMaker's. The objective of a built-in algorithm must be
one it emits, in the direction it declares; its regex comes from the algorithm and, when the built-in does
not register that metric on its jobs, is appended to each trial's MetricDefinitions as ``ObjectiveMetric``,
as SageMaker does. Other images define the objective themselves in MetricDefinitions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sageforge.algorithms import registry
from sageforge.aws.errors import ValidationException
from sageforge.hpo.completion import CompletionCriteria
from sageforge.hpo.ranges import (
    CategoricalRange,
    InvalidRange,
    ParameterRange,
    SearchSpace,
    continuous_range,
    grid_size,
    integer_range,
)
from sageforge.hpo.strategy import Resources, StrategyConfig
from sageforge.hpo.trials import Direction, FinishedTrial

OBJECTIVE_HYPERPARAMETER = "_tuning_objective_metric"
OBJECTIVE_DEFINITION = "ObjectiveMetric"
MAX_HYPERPARAMETERS = 100
MAX_RESOURCE = 20_000
# Where SageMaker's Hyperband looks for MaxResource when the request leaves it out.
EPOCH_HYPERPARAMETERS = ("epochs", "numepochs", "n-epochs", "n_epochs", "num_epochs")
# Members of HyperParameterTrainingJobDefinition that a trial's CreateTrainingJob request takes as they are.
_TRAINING_MEMBERS = (
    "RoleArn",
    "InputDataConfig",
    "VpcConfig",
    "OutputDataConfig",
    "ResourceConfig",
    "StoppingCondition",
    "EnableNetworkIsolation",
    "EnableInterContainerTrafficEncryption",
    "EnableManagedSpotTraining",
    "CheckpointConfig",
    "RetryStrategy",
    "Environment",
)


@dataclass(frozen=True)
class Objective:
    metric: str
    direction: Direction
    # The metric definition a trial reports the objective under: the metric itself or "ObjectiveMetric".
    definition: str


@dataclass(frozen=True)
class TuningPlan:
    strategy: str
    space: SearchSpace
    objective: Objective
    max_jobs: int
    max_parallel: int
    max_runtime: float | None
    criteria: CompletionCriteria
    early_stopping: bool
    resources: Resources | None
    seed: int | None
    static: Mapping[str, str]
    trial_template: Mapping[str, Any]

    @property
    def keeps_series(self) -> bool:
        """Whether decisions depend on the objective series, so that a resumed job needs it back."""
        return self.early_stopping or self.resources is not None

    def strategy_config(
        self, history: tuple[FinishedTrial, ...] = (), prior: tuple[FinishedTrial, ...] = ()
    ) -> StrategyConfig:
        return StrategyConfig(
            space=self.space,
            direction=self.objective.direction,
            seed=self.seed,
            budget=self.max_jobs,
            early_stopping=self.early_stopping,
            resources=self.resources,
            history=history,
            prior=prior,
        )

    def trial_request(self, name: str, tuned: Mapping[str, str]) -> dict[str, Any]:
        """The CreateTrainingJob request of the trial called ``name`` with the ``tuned`` hyperparameters."""
        hyperparameters = {**self.static, **tuned, OBJECTIVE_HYPERPARAMETER: self.objective.metric}
        return {**self.trial_template, "TrainingJobName": name, "HyperParameters": hyperparameters}


def with_objective_hyperparameter(request: dict[str, Any]) -> dict[str, Any]:
    """``request`` with ``_tuning_objective_metric`` among its static hyperparameters, as SageMaker stores and
    describes a tuning job (the SDK's ``HyperparameterTuner.attach`` expects it there)."""
    definition, metric = request.get("TrainingJobDefinition"), _objective_metric(request)
    if definition is None or metric is None:
        return request
    static = {**definition.get("StaticHyperParameters", {}), OBJECTIVE_HYPERPARAMETER: metric}
    return {**request, "TrainingJobDefinition": {**definition, "StaticHyperParameters": static}}


def plan_tuning_job(request: Mapping[str, Any]) -> TuningPlan:
    """The plan of a validated CreateHyperParameterTuningJob request; ValidationException for what it breaks."""
    config = request["HyperParameterTuningJobConfig"]
    for unsupported in ("TrainingJobDefinitions", "Autotune"):
        if unsupported in request:
            raise ValidationException(f"{unsupported} is not supported by sageforge; use one TrainingJobDefinition.")
    definition = request.get("TrainingJobDefinition")
    if definition is None:
        raise ValidationException("TrainingJobDefinition is required.")
    strategy = config["Strategy"]
    static = dict(definition.get("StaticHyperParameters", {}))
    space = _space(config.get("ParameterRanges") or definition.get("HyperParameterRanges") or {}, static)
    objective = _objective(
        config.get("HyperParameterTuningJobObjective") or definition.get("TuningObjective"), definition
    )
    limits = config["ResourceLimits"]
    max_jobs = _max_jobs(strategy, space, limits)
    # A grid sized by its combinations may be given more parallel jobs than it has; it just runs them all at once.
    if "MaxNumberOfTrainingJobs" in limits and limits["MaxParallelTrainingJobs"] > max_jobs:
        raise ValidationException(
            f"MaxParallelTrainingJobs ({limits['MaxParallelTrainingJobs']}) must be less than or equal to "
            f"MaxNumberOfTrainingJobs ({max_jobs})."
        )
    early_stopping = config.get("TrainingJobEarlyStoppingType", "Off") == "Auto"
    resources = _resources(strategy, config, static, early_stopping)
    if len({**static, OBJECTIVE_HYPERPARAMETER: ""}) + len(space.ranges) > MAX_HYPERPARAMETERS:
        raise ValidationException(
            f"A training job can have at most {MAX_HYPERPARAMETERS} hyperparameters, static, tuned and "
            f"{OBJECTIVE_HYPERPARAMETER} together."
        )
    criteria = config.get("TuningJobCompletionCriteria", {})
    return TuningPlan(
        strategy=strategy,
        space=space,
        objective=objective,
        max_jobs=max_jobs,
        max_parallel=limits["MaxParallelTrainingJobs"],
        max_runtime=limits.get("MaxRuntimeInSeconds"),
        criteria=CompletionCriteria(
            target=criteria.get("TargetObjectiveMetricValue"),
            max_not_improving=criteria.get("BestObjectiveNotImproving", {}).get("MaxNumberOfTrainingJobsNotImproving"),
            complete_on_convergence=criteria.get("ConvergenceDetected", {}).get("CompleteOnConvergence") == "Enabled",
        ),
        early_stopping=early_stopping,
        resources=resources,
        seed=config.get("RandomSeed"),
        static=static,
        trial_template=_trial_template(definition, objective, request.get("Tags", [])),
    )


def check_warm_start_parent(request: Mapping[str, Any], parent: Mapping[str, Any], warm_start_type: str) -> None:
    """Refuse a parent whose objective, hyperparameter count, image or data the warm start may not change."""
    name = parent["HyperParameterTuningJobName"]
    ours, theirs = request["TrainingJobDefinition"], parent["TrainingJobDefinition"]
    if _objective_metric(request) != _objective_metric(parent):
        raise ValidationException(
            f"The objective metric of a warm start tuning job must be the same as that of its parent job {name}."
        )
    if _hyperparameter_count(request) != _hyperparameter_count(parent):
        raise ValidationException(
            f"The total number of static plus tunable hyperparameters must be the same as in the parent job {name}."
        )
    if warm_start_type == "IdenticalDataAndAlgorithm":
        for member in ("TrainingImage", "AlgorithmName"):
            if ours["AlgorithmSpecification"].get(member) != theirs["AlgorithmSpecification"].get(member):
                raise ValidationException(
                    f"IdenticalDataAndAlgorithm warm start needs the training image of the parent job {name}."
                )
        if ours.get("InputDataConfig") != theirs.get("InputDataConfig"):
            raise ValidationException(
                f"IdenticalDataAndAlgorithm warm start needs the input data of the parent job {name}."
            )


def _space(ranges: Mapping[str, Any], static: Mapping[str, str]) -> SearchSpace:
    if ranges.get("AutoParameters"):
        raise ValidationException("AutoParameters (Autotune) are not supported by sageforge.")
    try:
        parsed: list[ParameterRange] = [
            *(
                CategoricalRange(item["Name"], tuple(item["Values"]))
                for item in ranges.get("CategoricalParameterRanges", [])
            ),
            *(
                continuous_range(item["Name"], item["MinValue"], item["MaxValue"], item.get("ScalingType", "Auto"))
                for item in ranges.get("ContinuousParameterRanges", [])
            ),
            *(
                integer_range(item["Name"], item["MinValue"], item["MaxValue"], item.get("ScalingType", "Auto"))
                for item in ranges.get("IntegerParameterRanges", [])
            ),
        ]
        space = SearchSpace(tuple(parsed))
    except InvalidRange as error:
        raise ValidationException(str(error)) from None
    for name in space.names:
        if name in static:
            raise ValidationException(
                f"Hyperparameter '{name}' is both static and tunable; give it either a value in "
                "StaticHyperParameters or a range in ParameterRanges."
            )
    return space


def _objective(objective: Mapping[str, str] | None, definition: Mapping[str, Any]) -> Objective:
    if objective is None:
        raise ValidationException("HyperParameterTuningJobObjective is required.")
    metric, direction = objective["MetricName"], Direction(objective["Type"])
    algorithm = definition["AlgorithmSpecification"]
    image = algorithm.get("TrainingImage") or algorithm.get("AlgorithmName")
    if not image:
        raise ValidationException("AlgorithmSpecification.TrainingImage or AlgorithmName is required.")
    resolved = registry.resolve(image)
    if resolved is None:
        defined = {item["Name"] for item in algorithm.get("MetricDefinitions", [])}
        if metric not in defined:
            raise ValidationException(
                f"The objective metric [{metric}] is not defined in AlgorithmSpecification.MetricDefinitions; "
                "give it a name and a regex there."
            )
        return Objective(metric, direction, metric)
    builtin = resolved.algorithm
    declared = builtin.objective_metrics.get(metric)
    if declared is None:
        raise ValidationException(
            f"The objective metric for the hyperparameter tuning job, [{metric}], isn't valid for the "
            f"[{builtin.name}] algorithm. Choose a valid objective metric."
        )
    if declared != direction.value:
        raise ValidationException(
            f"The objective metric type, [{direction.value}], that you specified for objective metric, [{metric}], "
            f"isn't valid for the [{builtin.name}] algorithm. Choose a valid objective metric type."
        )
    registered = {item.name for item in builtin.metric_definitions}
    return Objective(metric, direction, metric if metric in registered else OBJECTIVE_DEFINITION)


def _max_jobs(strategy: str, space: SearchSpace, limits: Mapping[str, int]) -> int:
    given = limits.get("MaxNumberOfTrainingJobs")
    if strategy != "Grid":
        if given is None:
            raise ValidationException("ResourceLimits.MaxNumberOfTrainingJobs is required unless the strategy is Grid.")
        return given
    try:
        size = grid_size(space)
    except InvalidRange as error:
        raise ValidationException(str(error)) from None
    if given is not None and given != size:
        raise ValidationException(
            f"For the Grid strategy, MaxNumberOfTrainingJobs ({given}) must equal the number of hyperparameter "
            f"combinations ({size}), or be left out."
        )
    return size


def _resources(
    strategy: str, config: Mapping[str, Any], static: Mapping[str, str], early_stopping: bool
) -> Resources | None:
    hyperband = config.get("StrategyConfig", {}).get("HyperbandStrategyConfig")
    if strategy != "Hyperband":
        if hyperband is not None:
            raise ValidationException("StrategyConfig should be provided only if Hyperband is the strategy.")
        return None
    if early_stopping:
        raise ValidationException("TrainingJobEarlyStoppingType must be Off to use the Hyperband strategy.")
    hyperband = hyperband or {}
    maximum = hyperband.get("MaxResource")
    if maximum is None:
        for key in EPOCH_HYPERPARAMETERS:
            if key in static and static[key].isdigit():
                maximum = int(static[key])
                break
        else:
            raise ValidationException(
                "HyperbandStrategyConfig.MaxResource is required when no static hyperparameter "
                f"({', '.join(EPOCH_HYPERPARAMETERS)}) gives it."
            )
    minimum = hyperband.get("MinResource", 1)
    if not 1 <= minimum <= maximum <= MAX_RESOURCE:
        raise ValidationException(
            f"Hyperband needs 1 <= MinResource <= MaxResource <= {MAX_RESOURCE}; got MinResource {minimum} and "
            f"MaxResource {maximum}."
        )
    return Resources(minimum, maximum)


def _trial_template(definition: Mapping[str, Any], objective: Objective, tags: list[Any]) -> dict[str, Any]:
    algorithm = definition["AlgorithmSpecification"]
    specification = {
        key: algorithm[key] for key in ("TrainingImage", "AlgorithmName", "TrainingInputMode") if key in algorithm
    }
    definitions = list(algorithm.get("MetricDefinitions", []))
    if objective.definition == OBJECTIVE_DEFINITION:
        resolved = registry.resolve(algorithm.get("TrainingImage") or algorithm["AlgorithmName"])
        known = resolved.algorithm.metric_definition(objective.metric) if resolved is not None else None
        if known is not None:
            # A request copied from a description (the SDK's warm start of an attached tuner) already has one.
            definitions = [item for item in definitions if item["Name"] != OBJECTIVE_DEFINITION]
            definitions.append({"Name": OBJECTIVE_DEFINITION, "Regex": known.regex})
    if definitions:
        specification["MetricDefinitions"] = definitions
    template: dict[str, Any] = {key: definition[key] for key in _TRAINING_MEMBERS if key in definition}
    template["AlgorithmSpecification"] = specification
    if "ResourceConfig" not in template:
        template["ResourceConfig"] = _resource_config(definition.get("HyperParameterTuningResourceConfig", {}))
    if tags:
        # SageMaker tags every training job a tuning job launches with the tuning job's tags.
        template["Tags"] = tags
    return template


def _resource_config(tuning: Mapping[str, Any]) -> dict[str, Any]:
    chosen = tuning if "InstanceType" in tuning else next(iter(tuning.get("InstanceConfigs", [])), None)
    if chosen is None:
        raise ValidationException("TrainingJobDefinition needs ResourceConfig or HyperParameterTuningResourceConfig.")
    return {key: chosen[key] for key in ("InstanceType", "InstanceCount", "VolumeSizeInGB") if key in chosen}


def _objective_metric(request: Mapping[str, Any]) -> str | None:
    objective = request["HyperParameterTuningJobConfig"].get("HyperParameterTuningJobObjective") or request.get(
        "TrainingJobDefinition", {}
    ).get("TuningObjective")
    return None if objective is None else str(objective["MetricName"])


def _hyperparameter_count(request: Mapping[str, Any]) -> int:
    definition = request["TrainingJobDefinition"]
    ranges = request["HyperParameterTuningJobConfig"].get("ParameterRanges") or definition.get(
        "HyperParameterRanges", {}
    )
    tuned = sum(
        len(ranges.get(kind, []))
        for kind in ("CategoricalParameterRanges", "ContinuousParameterRanges", "IntegerParameterRanges")
    )
    return len(definition.get("StaticHyperParameters", {})) + tuned
