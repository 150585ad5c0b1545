"""k-NN's hyperparameters (reference B5) as a table, parsed into a `KnnConfig`.

Validation is the first-party JSON-schema kind. Beyond each row's type and range: `dimension_reduction_target`
is required with `dimension_reduction_type` and must be below `feature_dim`; `faiss.IVFPQ` takes only the L2
metric, as faiss does; `faiss_index_pq_m` is one of faiss's product-quantizer sizes. A tuning job's
`_tuning_objective_metric` is accepted. `faiss_index_ivf_nlists` `auto` stays None (it would mean
sqrt(sample_size); exact search needs no lists).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from sageforge.algorithms.base import UserError
from sageforge.algorithms.hyperparameters import (
    JSON_SCHEMA_STYLE,
    Categorical,
    HyperparameterTable,
    Integer,
    Interval,
    Value,
)
from sageforge.algorithms.knn import OBJECTIVE_METRICS

PredictorType = Literal["classifier", "regressor"]
Metric = Literal["L2", "INNER_PRODUCT", "COSINE"]
PQ_M_VALUES = ("1", "2", "3", "4", "8", "12", "16", "20", "24", "28", "32", "40", "48", "56", "64", "96")
_AT_LEAST_1 = Interval(low=1)


def _reduction_target(values: Mapping[str, Value]) -> None:
    if "dimension_reduction_type" not in values:
        return
    target = values.get("dimension_reduction_target")
    if target is None:
        raise UserError("'dimension_reduction_target' is a required property")
    if isinstance(target, int) and isinstance(values["feature_dim"], int) and target >= values["feature_dim"]:
        raise UserError(
            f"dimension_reduction_target ({target}) must be less than feature_dim ({values['feature_dim']})"
        )


def _pq_metric(values: Mapping[str, Value]) -> None:
    if values["index_type"] == "faiss.IVFPQ" and values["index_metric"] != "L2":
        raise UserError(f"index_type faiss.IVFPQ supports only the L2 index_metric, not {values['index_metric']}")


TABLE = HyperparameterTable(
    (
        Integer("feature_dim", required=True, interval=_AT_LEAST_1),
        Integer("k", required=True, interval=_AT_LEAST_1),
        Categorical("predictor_type", required=True, values=("classifier", "regressor")),
        Integer("sample_size", required=True, interval=_AT_LEAST_1),
        Integer("dimension_reduction_target", interval=_AT_LEAST_1),
        Categorical("dimension_reduction_type", values=("sign", "fjlt")),
        Integer("faiss_index_ivf_nlists", default="auto", interval=_AT_LEAST_1, keywords=("auto",)),
        Categorical("faiss_index_pq_m", values=PQ_M_VALUES),
        Categorical("index_metric", default="L2", values=("L2", "INNER_PRODUCT", "COSINE")),
        Categorical("index_type", default="faiss.Flat", values=("faiss.Flat", "faiss.IVFFlat", "faiss.IVFPQ")),
        Integer("mini_batch_size", default="5000", interval=_AT_LEAST_1),
        Categorical("_tuning_objective_metric", values=tuple(OBJECTIVE_METRICS)),
    ),
    JSON_SCHEMA_STYLE,
    (_reduction_target, _pq_metric),
)


@dataclass(frozen=True)
class KnnConfig:
    feature_dim: int
    k: int
    predictor_type: PredictorType
    sample_size: int
    reduction_type: str | None  # `sign`, `fjlt` or None
    reduction_target: int | None
    index_metric: Metric
    index_type: str
    mini_batch_size: int


def parse_hyperparameters(raw: Mapping[str, str]) -> KnnConfig:
    """Validate CreateTrainingJob's HyperParameters; UserError worded as the 1P containers word it."""
    values = TABLE.parse(raw)
    reduction_type = values.get("dimension_reduction_type")
    target = values.get("dimension_reduction_target")
    return KnnConfig(
        feature_dim=_integer(values, "feature_dim"),
        k=_integer(values, "k"),
        predictor_type="classifier" if values["predictor_type"] == "classifier" else "regressor",
        sample_size=_integer(values, "sample_size"),
        reduction_type=None if reduction_type is None else str(reduction_type),
        # A target without a type reduces nothing, as in SageMaker [INF].
        reduction_target=target if isinstance(target, int) and reduction_type is not None else None,
        index_metric=_metric(str(values["index_metric"])),
        index_type=str(values["index_type"]),
        mini_batch_size=_integer(values, "mini_batch_size"),
    )


def _integer(values: Mapping[str, Value], name: str) -> int:
    value = values[name]
    assert isinstance(value, int), name
    return value


def _metric(name: str) -> Metric:
    if name == "INNER_PRODUCT":
        return "INNER_PRODUCT"
    return "COSINE" if name == "COSINE" else "L2"
