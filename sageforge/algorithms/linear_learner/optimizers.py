"""The optimisers Linear Learner offers (`sgd` with momentum, `adam`, `rmsprop`), updating the weights of all
parallel models in place, each parameter array with its own learning rate array (one rate per model).

`auto` values [INF]: `beta_1` 0.9 and `beta_2` 0.999 (Adam's usual ones), `momentum` 0.9 for sgd, and
rmsprop's decay is `beta_2` when given, else 0.9.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]
_EPSILON = 1e-8


class Optimizer:
    """One optimiser's state for a fixed list of parameter arrays."""

    def __init__(
        self,
        kind: str,
        parameters: Sequence[Array],
        *,
        beta_1: float | None,
        beta_2: float | None,
        momentum: float | None,
    ) -> None:
        if kind not in ("sgd", "adam", "rmsprop"):
            raise ValueError(f"unknown optimizer {kind}")
        self.kind = kind
        self.beta_1 = 0.9 if beta_1 is None else beta_1
        self.beta_2 = (0.9 if kind == "rmsprop" else 0.999) if beta_2 is None else beta_2
        self.momentum = 0.9 if momentum is None else momentum
        self._first = [np.zeros_like(parameter) for parameter in parameters]
        self._second = [np.zeros_like(parameter) for parameter in parameters]
        self._steps = 0

    def step(self, parameters: Sequence[Array], gradients: Sequence[Array], rates: Sequence[Array]) -> None:
        """Move each parameter against its gradient; `rates[i]` broadcasts against `parameters[i]`."""
        self._steps += 1
        for parameter, gradient, rate, first, second in zip(
            parameters, gradients, rates, self._first, self._second, strict=True
        ):
            if self.kind == "sgd":
                first *= self.momentum
                first += gradient
                parameter -= rate * first
            elif self.kind == "adam":
                first *= self.beta_1
                first += (1 - self.beta_1) * gradient
                second *= self.beta_2
                second += (1 - self.beta_2) * gradient**2
                corrected_first = first / (1 - self.beta_1**self._steps)
                corrected_second = second / (1 - self.beta_2**self._steps)
                parameter -= rate * corrected_first / (np.sqrt(corrected_second) + _EPSILON)
            else:
                second *= self.beta_2
                second += (1 - self.beta_2) * gradient**2
                parameter -= rate * gradient / (np.sqrt(second) + _EPSILON)
