"""The regexes SageMaker registers for the first-party algorithms' metric lines (reference A4.2).

A 1P algorithm prints `#quality_metric: host=<host>, [epoch=<n>, ]<channel> <token> <loss|score>=<value>`:
lines with `epoch=` are per-epoch values, lines without it final ones; `<loss>` tags a metric to minimise,
`<score>` one to maximise. `token` is the metric's spelling in the line, itself a regex where SageMaker's is
(`\\S+_objective`, `binary_f_\\S+`). Standard library only: the API server imports it with the declarations.
"""

from __future__ import annotations

from typing import Literal

from sageforge.algorithms.base import MetricDefinition, ObjectiveDirection

Kind = Literal["loss", "score"]

PROGRESS = MetricDefinition("train:progress", r"#progress_metric: host=\S+, completed (\S+) %")
THROUGHPUT = MetricDefinition(
    "train:throughput", r"#throughput_metric: host=\S+, train throughput=(\S+) records/second"
)


def quality_metric(name: str, channel: str, token: str, kind: Kind, *, per_epoch: bool = False) -> MetricDefinition:
    """The definition of metric `name`, read from `channel`'s final line (or, with `per_epoch`, each epoch's)."""
    epoch = r"epoch=\S+, " if per_epoch else ""
    return MetricDefinition(name, rf"#quality_metric: host=\S+, {epoch}{channel} {token} <{kind}>=(\S+)")


def direction(kind: Kind) -> ObjectiveDirection:
    """What a tuning job does with a metric of this kind: `<loss>` is minimised, `<score>` maximised."""
    return "Minimize" if kind == "loss" else "Maximize"
