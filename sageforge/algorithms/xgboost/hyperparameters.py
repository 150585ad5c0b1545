"""XGBoost hyperparameters: the container's validation table as data, parsed into a `TrainingConfig`.

Every value arrives as a string (CreateTrainingJob's map). `parse_hyperparameters` follows the
container's order: aliases (`learning_rate` -> `eta`, ...), required names, then per name "extraneous",
parse and range checks, then the rules that involve several hyperparameters. Messages keep the
container's wording (`Extraneous hyperparameter found: <name>`, `Missing required hyperparameter: <name>`,
`Hyperparameter <name>: <value> is not in <range>`), all raised as UserError: the table's style is the
shared `TOOLKIT_STYLE`, its rows the shared ones of `sageforge.algorithms.hyperparameters` plus the two
composite rows only XGBoost has (`CommaList`, `IntegerSequence`).
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sageforge.algorithms.base import UserError
from sageforge.algorithms.hyperparameters import (
    TOOLKIT_STYLE,
    Categorical,
    Continuous,
    Flag,
    Hyperparameter,
    HyperparameterTable,
    Integer,
    Interval,
    InvalidValue,
    Malformed,
    Value,
)
from sageforge.algorithms.xgboost import CHANNELS, MAXIMIZE_METRICS, METRICS

XGBoostParam = int | float | str

ALIASES: Mapping[str, str] = {
    "learning_rate": "eta",
    "min_split_loss": "gamma",
    "reg_lambda": "lambda",
    "reg_alpha": "alpha",
}

AT_LEAST_0 = Interval(low=0)
AT_LEAST_1 = Interval(low=1)
ZERO_TO_ONE = Interval(low=0, high=1)
FRACTION = Interval(low=0, high=1, low_open=True)  # (0, 1]: sampling ratios


@dataclass(frozen=True)
class CommaList(Hyperparameter):
    """A comma-separated list whose items each satisfy `accepts` (a predicate over one item)."""

    accepts: Callable[[str], bool] = bool
    expected: str = ""

    def parse(self, raw: str) -> Value:
        items = tuple(item.strip() for item in raw.split(","))
        rejected = [item for item in items if not self.accepts(item)]
        if rejected:
            raise InvalidValue(Malformed(f"value {rejected[0]!r} not in range {self.expected}"))
        return items


@dataclass(frozen=True)
class IntegerSequence(Hyperparameter):
    """A Python literal of integers: a tuple (`(0,1,-1)`) or, with `nested`, a list of lists (`[[1,2],[3]]`).

    The value is the normalised literal, which is the string form XGBoost itself reads.
    """

    allowed: Interval = Interval()
    nested: bool = False

    def parse(self, raw: str) -> Value:
        try:
            literal = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            raise InvalidValue(Malformed(f"could not parse value {raw!r}")) from None
        groups = literal if self.nested else [literal]
        if not isinstance(groups, (list, tuple)) or not all(isinstance(group, (list, tuple)) for group in groups):
            problem = f"{raw!r} is not a {'list of lists' if self.nested else 'tuple'} of integers"
            raise InvalidValue(Malformed(problem))
        for group in groups:
            for element in group:
                if not isinstance(element, int) or element not in self.allowed:
                    raise InvalidValue(Malformed(f"value {element!r} in {raw!r} not in range {self.allowed}"))
        if self.nested:
            return "[" + ", ".join("[" + ", ".join(map(str, group)) + "]" for group in groups) + "]"
        return "(" + ",".join(map(str, literal)) + ")"


def _is_eval_metric(item: str) -> bool:
    name, at, threshold = item.partition("@")
    if not at:
        return item in METRICS
    try:
        float(threshold)
    except ValueError:
        return False
    return name in ("error", "ndcg", "map")


OBJECTIVES = tuple(
    "binary:hinge binary:logistic binary:logitraw count:poisson multi:softmax multi:softprob rank:map rank:ndcg "
    "rank:pairwise reg:absoluteerror reg:gamma reg:logistic reg:pseudohubererror reg:squarederror "
    "reg:squaredlogerror reg:tweedie survival:aft survival:cox".split()
)
TREE_GROW_UPDATERS = tuple(
    "grow_colmaker distcol grow_histmaker grow_local_histmaker grow_skmaker grow_quantile_histmaker".split()
)
TREE_UPDATERS = TREE_GROW_UPDATERS + ("sync", "refresh", "prune")
LINEAR_UPDATERS = ("shotgun", "coord_descent")

# The union of the 1.0-1 ... 1.7-1 containers' tables. Parameters that XGBoost 2/3 removed are still
# accepted (jobs written for the container keep validating) but no longer passed on (`CONTAINER_ONLY`).
HYPERPARAMETERS: tuple[Hyperparameter, ...] = (
    Integer("num_round", required=True, interval=AT_LEAST_1),
    Integer("num_class", interval=Interval(low=2)),
    Categorical("objective", values=OBJECTIVES, renamed=(("reg:linear", "reg:squarederror"),)),
    CommaList("eval_metric", accepts=_is_eval_metric, expected=", ".join(METRICS)),
    Integer("early_stopping_rounds", interval=AT_LEAST_1),
    Integer("csv_weights", interval=ZERO_TO_ONE),
    Categorical("booster", values=("gbtree", "gblinear", "dart")),
    Integer("silent", interval=ZERO_TO_ONE),
    Integer("verbosity", interval=Interval(low=0, high=3)),
    Integer("nthread", interval=AT_LEAST_1),
    Continuous("eta", interval=ZERO_TO_ONE),
    Continuous("gamma", interval=AT_LEAST_0),
    Integer("max_depth", interval=AT_LEAST_0),
    Continuous("min_child_weight", interval=AT_LEAST_0),
    Continuous("max_delta_step", interval=AT_LEAST_0),
    Continuous("subsample", interval=FRACTION),
    Continuous("colsample_bytree", interval=FRACTION),
    Continuous("colsample_bylevel", interval=FRACTION),
    Continuous("colsample_bynode", interval=FRACTION),
    Continuous("lambda", interval=AT_LEAST_0),
    Continuous("alpha", interval=AT_LEAST_0),
    Categorical("tree_method", values=("auto", "exact", "approx", "hist", "gpu_hist")),
    Continuous("sketch_eps", interval=Interval(low=0, high=1, low_open=True, high_open=True)),
    Continuous("scale_pos_weight", interval=Interval(low=0, low_open=True)),
    CommaList(
        "updater",
        accepts=(TREE_UPDATERS + LINEAR_UPDATERS).__contains__,
        expected=", ".join(TREE_UPDATERS + LINEAR_UPDATERS),
    ),
    Categorical("dsplit", values=("row", "col")),
    Integer("refresh_leaf", interval=ZERO_TO_ONE),
    Categorical("process_type", values=("default", "update")),
    Categorical("grow_policy", values=("depthwise", "lossguide")),
    Integer("max_leaves", interval=AT_LEAST_0),
    Integer("max_bin", interval=AT_LEAST_0),
    Categorical("predictor", values=("auto", "cpu_predictor", "gpu_predictor")),
    IntegerSequence("monotone_constraints", allowed=Interval(low=-1, high=1)),
    IntegerSequence("interaction_constraints", allowed=AT_LEAST_1, nested=True),
    Categorical("sample_type", values=("uniform", "weighted")),
    Categorical("normalize_type", values=("tree", "forest")),
    Continuous("rate_drop", interval=ZERO_TO_ONE),
    Integer("one_drop", interval=ZERO_TO_ONE),
    Continuous("skip_drop", interval=ZERO_TO_ONE),
    Continuous("lambda_bias", interval=ZERO_TO_ONE),
    Continuous("tweedie_variance_power", interval=Interval(low=1, high=2, low_open=True, high_open=True)),
    Continuous("base_score", interval=AT_LEAST_0),
    Integer("seed", interval=Interval(low=-(2**31), high=2**31 - 1, low_open=True, high_open=True)),
    Integer("num_parallel_tree", interval=AT_LEAST_1),
    Flag("save_model_on_termination"),
    Categorical("aft_loss_distribution", values=("normal", "logistic", "extreme")),
    Continuous("aft_loss_distribution_scale", interval=AT_LEAST_0),
    Flag("deterministic_histogram"),
    Flag("single_precision_histogram"),
    Categorical("sampling_method", values=("uniform", "gradient_based")),
    Continuous("prob_buffer_row", interval=Interval(low=1, low_open=True)),
    Flag("use_dask_gpu_training"),
    Integer("_kfold", interval=Interval(low=2)),
    Integer("_num_cv_round", interval=AT_LEAST_1),
    Categorical(
        "_tuning_objective_metric",
        values=tuple(f"{channel}:{metric}" for channel in CHANNELS for metric in METRICS),
    ),
)
# What the container handles itself; every other hyperparameter is passed on to `xgboost.train`.
CONTAINER_ONLY = frozenset(
    {
        "num_round",
        "eval_metric",
        "early_stopping_rounds",
        "csv_weights",
        "silent",
        "sketch_eps",
        "dsplit",
        "predictor",
        "lambda_bias",
        "save_model_on_termination",
        "deterministic_histogram",
        "single_precision_histogram",
        "prob_buffer_row",
        "use_dask_gpu_training",
        "_kfold",
        "_num_cv_round",
        "_tuning_objective_metric",
    }
)


@dataclass(frozen=True)
class TrainingConfig:
    """Validated hyperparameters, split into what `xgboost.train` receives and what the container handles."""

    num_round: int
    params: Mapping[str, XGBoostParam]  # booster parameters, without eval_metric
    eval_metric: tuple[str, ...]
    tuning_metric: str | None  # the metric part of `_tuning_objective_metric`
    early_stopping_rounds: int | None
    csv_weights: bool
    save_model_on_termination: bool

    @property
    def metrics(self) -> tuple[str, ...]:
        """Metrics evaluated every round: eval_metric plus the tuning metric, sorted so that all hosts agree."""
        if self.tuning_metric is None:
            return self.eval_metric
        if not self.eval_metric:
            return (self.tuning_metric,)
        return tuple(sorted(set(self.eval_metric) | {self.tuning_metric}))

    @property
    def early_stopping_metric(self) -> str | None:
        """The 1.3-1+ rule: the tuning metric, else the last eval_metric; None disables early stopping."""
        if self.early_stopping_rounds is None:
            return None
        return self.tuning_metric or (self.eval_metric[-1] if self.eval_metric else None)

    @property
    def maximize_early_stopping_metric(self) -> bool:
        metric = self.early_stopping_metric or ""
        return metric.partition("@")[0] in MAXIMIZE_METRICS


def parse_hyperparameters(raw: Mapping[str, str]) -> TrainingConfig:
    """Validate CreateTrainingJob's HyperParameters the way the container does; UserError on the first problem."""
    return _training_config(TABLE.parse({ALIASES.get(name, name): value for name, value in raw.items()}))


def _training_config(values: Mapping[str, Value]) -> TrainingConfig:
    params: dict[str, XGBoostParam] = {}
    for name, value in values.items():
        if name not in CONTAINER_ONLY:
            params[name] = ",".join(value) if isinstance(value, tuple) else value
    if params.get("tree_method") == "gpu_hist":
        # XGBoost 2 replaced tree_method=gpu_hist with hist on device cuda.
        params.update(tree_method="hist", device="cuda")
    tuning = values.get("_tuning_objective_metric")
    eval_metric = values.get("eval_metric", ())
    early_stopping_rounds = values.get("early_stopping_rounds")
    num_round = values["num_round"]
    assert isinstance(num_round, int)  # parsed by its Integer row
    return TrainingConfig(
        num_round=num_round,
        params=params,
        eval_metric=eval_metric if isinstance(eval_metric, tuple) else (),
        tuning_metric=tuning.partition(":")[2] if isinstance(tuning, str) else None,
        early_stopping_rounds=early_stopping_rounds if isinstance(early_stopping_rounds, int) else None,
        csv_weights=values.get("csv_weights") == 1,
        save_model_on_termination=values.get("save_model_on_termination") == "true",
    )


# Rules over several hyperparameters (the container's dependency validators), each a UserError.


def _num_class_for_multiclass(values: Mapping[str, Value]) -> None:
    if str(values.get("objective", "")).startswith("multi:") and "num_class" not in values:
        raise UserError("Require input for parameter 'num_class' for multi-classification")


def _metrics_fit_objective(values: Mapping[str, Value]) -> None:
    metrics = values.get("eval_metric", ())
    if not isinstance(metrics, tuple):
        return
    objective = str(values.get("objective", "reg:squarederror"))
    if "auc" in metrics and not objective.startswith(("binary:", "rank:")):
        raise UserError("Metric 'auc' can only be applied for classification and ranking problems.")
    if "aft-nloglik" in metrics and objective != "survival:aft":
        raise UserError("Metric 'aft-nloglik' can only be applied for 'survival:aft' objective.")


def _constraints_fit_tree_method(values: Mapping[str, Value]) -> None:
    tree_method = values.get("tree_method")
    if "monotone_constraints" in values and tree_method not in ("exact", "hist"):
        raise UserError(
            "monotone_constraints can be used only when the tree_method parameter is set to either 'exact' or 'hist'."
        )
    if "interaction_constraints" in values and tree_method not in ("exact", "hist", "approx"):
        raise UserError(
            "interaction_constraints can be used only when the tree_method parameter is set to either "
            "'exact', 'hist' or 'approx'."
        )


def _updaters_fit_booster(values: Mapping[str, Value]) -> None:
    updaters = values.get("updater")
    if not isinstance(updaters, tuple):
        return
    if values.get("booster") == "gblinear":
        if len(updaters) != 1 or updaters[0] not in LINEAR_UPDATERS:
            raise UserError(f"Linear updater should be one of these options: {', '.join(LINEAR_UPDATERS)}.")
    elif values.get("process_type") == "update":
        if any(updater not in ("refresh", "prune") for updater in updaters):
            raise UserError("process_type 'update' can only be used with updater 'refresh' and 'prune'")
    elif any(updater not in TREE_UPDATERS for updater in updaters):
        raise UserError(f"Tree updater should be selected from these options: {', '.join(TREE_UPDATERS)}.")
    elif sum(updater in TREE_GROW_UPDATERS for updater in updaters) > 1:
        raise UserError(f"Only one tree grow plugin can be selected. Choose one from: {', '.join(TREE_GROW_UPDATERS)}")


def _supported_by_sageforge(values: Mapping[str, Value]) -> None:
    # LIMITATION: the container's k-fold mode and Dask GPU training are not implemented.
    if "_kfold" in values or "_num_cv_round" in values:
        raise UserError("Hyperparameter _kfold: k-fold cross-validation is not supported by sageforge")
    if values.get("use_dask_gpu_training") == "true":
        raise UserError("Hyperparameter use_dask_gpu_training: Dask GPU training is not supported by sageforge")


_RULES: tuple[Callable[[Mapping[str, Value]], None], ...] = (
    _num_class_for_multiclass,
    _metrics_fit_objective,
    _constraints_fit_tree_method,
    _updaters_fit_booster,
    _supported_by_sageforge,
)
TABLE = HyperparameterTable(HYPERPARAMETERS, TOOLKIT_STYLE, _RULES)
