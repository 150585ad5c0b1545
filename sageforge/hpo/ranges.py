"""SageMaker's hyperparameter ranges as search dimensions.

A tuned value has three spellings: the hyperparameter string a training job receives (``"0.25"``), the value
itself (``0.25``), and the point an Optuna distribution samples. The last equals the value except under
ReverseLogarithmic scaling, which is searched as ``1 - x`` on a log scale so that samples crowd toward 1, as
SageMaker documents. Each range converts between the three and refuses what SageMaker refuses (an empty
interval, a log scale over values that are not all positive, ...) with ``InvalidRange``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution

# What a distribution samples: an int, a float, or a categorical value's string.
Sample = int | float | str

# SageMaker's limits on one tuning job's ranges (botocore's list lengths; the documented tunable total).
MAX_RANGES = 30
MAX_CATEGORICAL_VALUES = 30

_Number = TypeVar("_Number", int, float)


class Scaling(StrEnum):
    # Auto searches linearly: SageMaker's choice of scale is not documented, and linear is what it picks for
    # the ranges its own examples give.
    AUTO = "Auto"
    LINEAR = "Linear"
    LOGARITHMIC = "Logarithmic"
    REVERSE_LOGARITHMIC = "ReverseLogarithmic"


class InvalidRange(ValueError):
    """A range SageMaker would refuse; the message is fit for a ValidationException."""


@dataclass(frozen=True)
class IntegerRange:
    name: str
    min_value: int
    max_value: int
    scaling: Scaling = Scaling.AUTO

    def __post_init__(self) -> None:
        _check_order(self.name, self.min_value, self.max_value)
        if self.scaling is Scaling.REVERSE_LOGARITHMIC:
            raise InvalidRange(
                f"ReverseLogarithmic scaling is not supported for integer hyperparameter '{self.name}'; "
                "use Auto, Linear or Logarithmic."
            )
        if self.scaling is Scaling.LOGARITHMIC and self.min_value <= 0:
            raise _log_scale_error(self.name, self.min_value)

    def distribution(self) -> BaseDistribution:
        return IntDistribution(self.min_value, self.max_value, log=self.scaling is Scaling.LOGARITHMIC)

    def to_hyperparameter(self, sample: Sample) -> str:
        return str(int(sample))

    def from_hyperparameter(self, text: str) -> Sample | None:
        try:
            value = int(text)
        except ValueError:
            return None
        return value if self.min_value <= value <= self.max_value else None

    def grid(self) -> Sequence[Sample]:
        return range(self.min_value, self.max_value + 1)


@dataclass(frozen=True)
class ContinuousRange:
    name: str
    min_value: float
    max_value: float
    scaling: Scaling = Scaling.AUTO

    def __post_init__(self) -> None:
        if not (math.isfinite(self.min_value) and math.isfinite(self.max_value)):
            raise InvalidRange(f"The range of hyperparameter '{self.name}' must have finite MinValue and MaxValue.")
        _check_order(self.name, self.min_value, self.max_value)
        if self.scaling is Scaling.LOGARITHMIC and self.min_value <= 0:
            raise _log_scale_error(self.name, self.min_value)
        if self.scaling is Scaling.REVERSE_LOGARITHMIC and not (0 <= self.min_value and self.max_value < 1):
            raise InvalidRange(
                f"Hyperparameter '{self.name}' uses ReverseLogarithmic scaling, which works only for ranges entirely "
                f"within 0 <= x < 1.0; its range is [{self.min_value}, {self.max_value}]."
            )

    def distribution(self) -> BaseDistribution:
        if self.scaling is Scaling.REVERSE_LOGARITHMIC:
            return FloatDistribution(1 - self.max_value, 1 - self.min_value, log=True)
        return FloatDistribution(self.min_value, self.max_value, log=self.scaling is Scaling.LOGARITHMIC)

    def to_hyperparameter(self, sample: Sample) -> str:
        value = 1 - float(sample) if self.scaling is Scaling.REVERSE_LOGARITHMIC else float(sample)
        # 1 - (1 - x) can land a rounding error outside the range.
        return repr(min(max(value, self.min_value), self.max_value))

    def from_hyperparameter(self, text: str) -> Sample | None:
        try:
            value = float(text)
        except ValueError:
            return None
        if not self.min_value <= value <= self.max_value:
            return None
        if self.scaling is Scaling.REVERSE_LOGARITHMIC:
            return min(max(1 - value, 1 - self.max_value), 1 - self.min_value)
        return value


@dataclass(frozen=True)
class CategoricalRange:
    name: str
    values: tuple[str, ...]

    def __post_init__(self) -> None:
        if not 1 <= len(self.values) <= MAX_CATEGORICAL_VALUES:
            raise InvalidRange(
                f"Categorical hyperparameter '{self.name}' must have between 1 and {MAX_CATEGORICAL_VALUES} values."
            )
        if len(set(self.values)) != len(self.values):
            raise InvalidRange(f"The values of categorical hyperparameter '{self.name}' must be unique.")

    def distribution(self) -> BaseDistribution:
        return CategoricalDistribution(self.values)

    def to_hyperparameter(self, sample: Sample) -> str:
        return str(sample)

    def from_hyperparameter(self, text: str) -> Sample | None:
        return text if text in self.values else None

    def grid(self) -> Sequence[Sample]:
        return self.values


ParameterRange = IntegerRange | ContinuousRange | CategoricalRange


def integer_range(name: str, min_value: str, max_value: str, scaling: str = "Auto") -> IntegerRange:
    """An IntegerParameterRange from its wire strings."""
    return IntegerRange(
        name, _parse(name, min_value, "MinValue", int), _parse(name, max_value, "MaxValue", int), Scaling(scaling)
    )


def continuous_range(name: str, min_value: str, max_value: str, scaling: str = "Auto") -> ContinuousRange:
    """A ContinuousParameterRange from its wire strings."""
    return ContinuousRange(
        name, _parse(name, min_value, "MinValue", float), _parse(name, max_value, "MaxValue", float), Scaling(scaling)
    )


@dataclass(frozen=True)
class SearchSpace:
    """The tuned hyperparameters of one tuning job, in the order the request lists them."""

    ranges: tuple[ParameterRange, ...]

    def __post_init__(self) -> None:
        if not self.ranges:
            raise InvalidRange("The tuning job must have at least one hyperparameter range to search.")
        if len(self.ranges) > MAX_RANGES:
            raise InvalidRange(f"A tuning job can search at most {MAX_RANGES} hyperparameter ranges.")
        seen: set[str] = set()
        for parameter in self.ranges:
            if parameter.name in seen:
                raise InvalidRange(f"Hyperparameter '{parameter.name}' has more than one range.")
            seen.add(parameter.name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(parameter.name for parameter in self.ranges)

    def distributions(self) -> dict[str, BaseDistribution]:
        return {parameter.name: parameter.distribution() for parameter in self.ranges}

    def to_hyperparameters(self, samples: Mapping[str, Sample]) -> dict[str, str]:
        """The hyperparameter strings of a point of the search space."""
        return {parameter.name: parameter.to_hyperparameter(samples[parameter.name]) for parameter in self.ranges}

    def from_hyperparameters(self, hyperparameters: Mapping[str, str]) -> dict[str, Sample]:
        """The point a training job's hyperparameters stand for, limited to the ranges their values fall in.

        A parent job of a warm start may have searched other ranges or held a tuned hyperparameter static;
        what lies outside this space is left out rather than guessed.
        """
        point: dict[str, Sample] = {}
        for parameter in self.ranges:
            text = hyperparameters.get(parameter.name)
            sample = parameter.from_hyperparameter(text) if text is not None else None
            if sample is not None:
                point[parameter.name] = sample
        return point


def grid_points(space: SearchSpace) -> Iterable[dict[str, Sample]]:
    """Every combination of the ranges' values, the first range varying slowest; continuous ranges are refused."""
    return (dict(zip(space.names, point, strict=True)) for point in itertools.product(*_grid_axes(space)))


def grid_size(space: SearchSpace) -> int:
    """How many combinations ``grid_points`` yields."""
    return math.prod(len(axis) for axis in _grid_axes(space))


def _grid_axes(space: SearchSpace) -> list[Sequence[Sample]]:
    axes: list[Sequence[Sample]] = []
    for parameter in space.ranges:
        if isinstance(parameter, ContinuousRange):
            raise InvalidRange(
                f"The Grid strategy searches only categorical and integer ranges; '{parameter.name}' is continuous."
            )
        axes.append(parameter.grid())
    return axes


def _check_order(name: str, low: float, high: float) -> None:
    if low > high:
        raise InvalidRange(
            f"The MinValue ({low}) of hyperparameter '{name}' must be less than or equal to its MaxValue ({high})."
        )


def _log_scale_error(name: str, low: float) -> InvalidRange:
    return InvalidRange(
        f"Hyperparameter '{name}' uses Logarithmic scaling, which works only for ranges whose values are all "
        f"greater than 0; its MinValue is {low}."
    )


def _parse(name: str, text: str, member: str, kind: type[_Number]) -> _Number:
    try:
        return kind(text)
    except ValueError:
        spelled = "an integer" if kind is int else "a number"
        raise InvalidRange(f"The {member} '{text}' of hyperparameter '{name}' is not {spelled}.") from None
