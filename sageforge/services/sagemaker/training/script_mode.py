"""Which training jobs run in script mode, and what their workload needs: the framework, the code archive.

A framework image (`sagemaker-scikit-learn`, `pytorch-training`, ...) runs the user's entry point through the
in-instance toolkit (`python -m sageforge.frameworks.training`) with the server's own Python, which must be
able to import the framework. `sagemaker-xgboost` is script mode only when the job names a program
(`sagemaker_program`); without one it is the built-in algorithm.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping

from sageforge.aws.errors import ValidationException
from sageforge.engine.workload import S3Location
from sageforge.frameworks.images import FrameworkImage, missing_framework, script_mode_image

TOOLKIT_COMMAND = (sys.executable, "-m", "sageforge.frameworks.training")
_PROGRAM = "sagemaker_program"
_SUBMIT_DIRECTORY = "sagemaker_submit_directory"


def training_framework(image: str, hyperparameters: Mapping[str, str]) -> FrameworkImage | None:
    """The framework image `image` names when the job runs in script mode, else None."""
    return script_mode_image(image, "training", names_program=_PROGRAM in hyperparameters)


def missing_framework_reason(image: str, framework: FrameworkImage) -> str | None:
    """The FailureReason of a job whose framework the server's Python cannot import; None when it can."""
    missing = missing_framework(framework)
    if missing is None:
        return None
    return f"ClientError: The image '{image}' runs {framework.framework.name} training scripts, and {missing}, then create the job again."


def source_code(hyperparameters: Mapping[str, str]) -> S3Location | None:
    """The code archive the engine stages, from `sagemaker_submit_directory` (JSON-encoded, as the SDK sends
    it): an S3 URI. None without one, or for a path inside the container (`/opt/ml/input/data/code/...` with
    network isolation: the code arrives as a channel, and the toolkit extracts it)."""
    raw = hyperparameters.get(_SUBMIT_DIRECTORY)
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    if isinstance(value, str) and value.startswith("/opt/ml/"):
        return None
    if not isinstance(value, str) or not value.startswith("s3://") or len(value) <= len("s3://"):
        raise ValidationException(
            f"HyperParameters.{_SUBMIT_DIRECTORY} '{raw}' is not supported: sageforge reads the source code from an "
            'S3 URI of a .tar.gz archive ("s3://bucket/job/source/sourcedir.tar.gz") or, with network isolation, '
            'from a path under /opt/ml/ ("/opt/ml/input/data/code/sourcedir.tar.gz").'
        )
    return S3Location.parse(value)
