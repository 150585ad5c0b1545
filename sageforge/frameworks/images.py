"""Which SageMaker image URIs are framework containers (script mode), and which framework and version.

The SDK's framework estimators and models (`SKLearn`, `PyTorch`, `TensorFlow`, `XGBoost` in framework mode)
name images such as `683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3` or
`763104351884.dkr.ecr.<region>.amazonaws.com/pytorch-training:2.1-cpu-py310`: an image is recognised by its
repository name, in any region and account, and its tag's leading version. `sagemaker-xgboost` is also the
built-in algorithm's image; it runs in script mode only when the job names a program (`sagemaker_program`
hyperparameter, `SAGEMAKER_PROGRAM` environment), which the callers decide.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

Scope = Literal["training", "inference"]


@dataclass(frozen=True)
class Framework:
    """A framework a script-mode container runs: its SDK name and the Python module that must be importable."""

    name: str  # the SDK's name: "sklearn", "pytorch", "tensorflow", "xgboost", "mxnet"
    module: str  # what the user's code imports: "sklearn", "torch", ...
    package: str  # what pip installs it as: "scikit-learn", "torch", ...


SKLEARN = Framework("sklearn", "sklearn", "scikit-learn")
PYTORCH = Framework("pytorch", "torch", "torch")
TENSORFLOW = Framework("tensorflow", "tensorflow", "tensorflow")
XGBOOST = Framework("xgboost", "xgboost", "xgboost")
MXNET = Framework("mxnet", "mxnet", "mxnet")


@dataclass(frozen=True)
class FrameworkImage:
    """A framework image: the framework, the version its tag names (`"1.2-1"`, `"2.1"`), and its scope (None
    where one image serves both, as `sagemaker-scikit-learn` and `sagemaker-xgboost` do)."""

    framework: Framework
    version: str
    scope: Scope | None


_REPOSITORIES: Mapping[str, tuple[Framework, Scope | None]] = MappingProxyType(
    {
        "sagemaker-scikit-learn": (SKLEARN, None),
        "sagemaker-xgboost": (XGBOOST, None),
        "pytorch-training": (PYTORCH, "training"),
        "pytorch-inference": (PYTORCH, "inference"),
        "tensorflow-training": (TENSORFLOW, "training"),
        "tensorflow-inference": (TENSORFLOW, "inference"),
        "mxnet-training": (MXNET, "training"),
        "mxnet-inference": (MXNET, "inference"),
    }
)

_IMAGE_URI = re.compile(
    r"(?:[0-9]{12}\.dkr\.ecr(?:-fips)?\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?/)?"
    r"(?P<repository>[a-z0-9][a-z0-9._/-]*):(?P<version>[0-9]+(?:\.[0-9]+)*(?:-[0-9]+)?)(?:-[A-Za-z0-9_.-]*)?"
)


def resolve_framework_image(image_uri: str) -> FrameworkImage | None:
    """The framework container `image_uri` names, or None for any other image."""
    match = _IMAGE_URI.fullmatch(image_uri.strip())
    if match is None:
        return None
    known = _REPOSITORIES.get(match["repository"])
    if known is None:
        return None
    framework, scope = known
    return FrameworkImage(framework, match["version"], scope)


def script_mode_image(image_uri: str, scope: Scope, *, names_program: bool) -> FrameworkImage | None:
    """The framework container `image_uri` names when it runs the user's code for `scope`, else None: an image
    of the other scope is not, and `sagemaker-xgboost` is only when a program is named (the job's
    `sagemaker_program`, the container's `SAGEMAKER_PROGRAM`); without one it is the built-in algorithm."""
    framework = resolve_framework_image(image_uri)
    if framework is None or framework.scope not in (None, scope):
        return None
    if framework.framework == XGBOOST and not names_program:
        return None
    return framework


def missing_framework(image: FrameworkImage) -> str | None:
    """Why script-mode code for `image` cannot run in this Python environment (it cannot import the
    framework), with how to install it; None when it can."""
    module = image.framework.module
    if importlib.util.find_spec(module) is not None:
        return None
    return (
        f"the Python environment sageforge runs {image.framework.name} scripts in cannot import '{module}'. "
        f"Install it there ({sys.executable} -m pip install {image.framework.package}) and restart the server"
    )
