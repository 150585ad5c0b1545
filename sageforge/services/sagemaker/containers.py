"""What a model's containers run as in sageforge: shared by endpoints and batch transform.

Every container runs as a replica process, ``python -m sageforge.serving.runtime``, around an inference module:

- a built-in algorithm's image: the algorithm's inference module;
- a framework container's image (``frameworks.images``: scikit-learn, PyTorch, ..., and ``sagemaker-xgboost``
  when its environment names a ``SAGEMAKER_PROGRAM``): script mode, ``frameworks.inference.handler_service``
  running the user's handlers. The framework must be importable in sageforge's Python environment. A
  ``SAGEMAKER_SUBMIT_DIRECTORY`` that is an S3 ``sourcedir.tar.gz`` is staged into the replica's ``code/``, as
  the container would download it there itself;
- a model of several containers (an inference pipeline, ``InferenceExecutionConfig`` Serial): one replica whose
  inference module, ``serving.runtime.pipeline``, starts each container's runtime in a directory of its own
  (``containers/<k>/``, where its files are staged) and chains them.

Model data is a ``ModelDataUrl`` tar.gz or a ``ModelDataSource`` S3 location (or nothing). Anything else raises
``NotRunnable`` with the reason, which each caller prefixes with what asked for it (a production variant, a
transform job).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sageforge.algorithms import registry
from sageforge.engine.errors import InvalidS3Uri
from sageforge.engine.workload import S3Location
from sageforge.frameworks.images import FrameworkImage, missing_framework, script_mode_image
from sageforge.serving.spec import ModelSource

RUNTIME_COMMAND = (sys.executable, "-m", "sageforge.serving.runtime")
SCRIPT_MODE_MODULE = "sageforge.frameworks.inference.handler_service"
PIPELINE_MODULE = "sageforge.serving.runtime.pipeline"


class NotRunnable(Exception):
    """A container sageforge cannot run; the message says why, without naming who asked."""


@dataclass(frozen=True)
class InferenceContainer:
    """A model's containers resolved to a replica's image, command, environment and the files staged for it."""

    image: str
    command: tuple[str, ...]
    environment: Mapping[str, str]
    files: tuple[ModelSource, ...]


def model_container(containers: Sequence[Mapping[str, Any]]) -> InferenceContainer:
    """What a model (its ``Containers``, or its one ``PrimaryContainer``, as stored) runs as; raises
    ``NotRunnable``."""
    if len(containers) == 1:
        return inference_container(containers[0])
    members: list[dict[str, Any]] = []
    files: list[ModelSource] = []
    for number, definition in enumerate(containers, 1):
        name = definition.get("ContainerHostname") or f"container_{number}"
        try:
            resolved = inference_container(definition, name)
        except NotRunnable as problem:
            raise NotRunnable(f"container {number} ({name}) of the inference pipeline: {problem}") from None
        directory = f"containers/{number}"
        files.extend(replace(source, directory=f"{directory}/{source.directory}") for source in resolved.files)
        members.append(
            {
                "name": name,
                "command": list(resolved.command),
                "environment": dict(resolved.environment),
                "directory": directory,
            }
        )
    environment = {"SAGEFORGE_INFERENCE_MODULE": PIPELINE_MODULE, "SAGEFORGE_PIPELINE": json.dumps(members)}
    return InferenceContainer(containers[0].get("Image", ""), RUNTIME_COMMAND, environment, tuple(files))


def inference_container(container: Mapping[str, Any], name: str = "container_1") -> InferenceContainer:
    """Resolve one ``ContainerDefinition`` (as CreateModel stored it); ``name`` is what staging failures call
    it. Raises ``NotRunnable``."""
    image = container.get("Image", "")
    given: dict[str, str] = dict(container.get("Environment", {}))
    model = _model_source(container, name)
    framework = script_mode_image(image, "inference", names_program=bool(given.get("SAGEMAKER_PROGRAM")))
    if framework is not None:
        return _script_mode(image, framework, given, model, name)
    resolved = registry.resolve(image)
    if resolved is None or resolved.algorithm.inference_module is None:
        raise NotRunnable(
            f"the image '{image}' is not a built-in algorithm image that sageforge can serve nor a framework "
            "container (script mode), and no container backend is configured to run other images."
        )
    environment = {
        **given,
        "SAGEFORGE_INFERENCE_MODULE": resolved.algorithm.inference_module,
        "SAGEFORGE_ALGORITHM_VERSION": resolved.version,
    }
    return InferenceContainer(image, RUNTIME_COMMAND, environment, model)


def _script_mode(
    image: str, framework: FrameworkImage, given: dict[str, str], model: tuple[ModelSource, ...], name: str
) -> InferenceContainer:
    missing = missing_framework(framework)
    if missing is not None:
        raise NotRunnable(
            f"the image '{image}' serves {framework.framework.name} models with the user's code, and {missing}."
        )
    environment = {
        **given,
        "SAGEFORGE_INFERENCE_MODULE": SCRIPT_MODE_MODULE,
        "SAGEFORGE_FRAMEWORK": framework.framework.name,
        "SAGEFORGE_FRAMEWORK_VERSION": framework.version,
    }
    submitted = given.get("SAGEMAKER_SUBMIT_DIRECTORY", "")
    if submitted.startswith("s3://"):
        code = _s3_location(submitted, "the source directory")
        model = (*model, ModelSource(code.bucket, code.key, archive=True, directory="code", container=name))
    return InferenceContainer(image, RUNTIME_COMMAND, environment, model)


def _model_source(container: Mapping[str, Any], name: str) -> tuple[ModelSource, ...]:
    source = container.get("ModelDataSource", {}).get("S3DataSource")
    uri = container.get("ModelDataUrl") or (source["S3Uri"] if source else None)
    if uri is None:
        return ()
    location = _s3_location(uri, "the model data")
    archive = source is None or source.get("CompressionType", "None") == "Gzip"
    return (ModelSource(location.bucket, location.key, archive=archive, container=name),)


def _s3_location(uri: str, what: str) -> S3Location:
    try:
        return S3Location.parse(uri)
    except InvalidS3Uri:
        raise NotRunnable(f"{what} '{uri}' is not an S3 URI.") from None
