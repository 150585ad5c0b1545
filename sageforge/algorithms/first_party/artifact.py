"""The model file a first-party algorithm leaves in `/opt/ml/model`: `model_<host>`, i.e. `model_algo-1`.

SageMaker's 1P algorithms write MXNet artifacts there (an NDArray file, or a zip around an MXNet module
checkpoint). sageforge trains without MXNet, so its file is a format of its own, documented here: a zip
archive holding `sageforge-model.json` -- `{"format": "sageforge-1p-model", "version": 1, "algorithm": <name>,
"metadata": {...}}` -- and one `<name>.npy` per array (NumPy's `.npy` format, loaded without pickle).
LIMITATION: such an artifact does not load in SageMaker's containers, nor theirs in sageforge.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

FORMAT = "sageforge-1p-model"
VERSION = 1
_MANIFEST = "sageforge-model.json"


@dataclass(frozen=True)
class ModelArtifact:
    algorithm: str
    metadata: Mapping[str, Any]
    arrays: Mapping[str, npt.NDArray[Any]]


def model_file_name(host: str) -> str:
    return f"model_{host}"


def write_artifact(model_dir: Path, host: str, artifact: ModelArtifact) -> Path:
    """Write `model_<host>` atomically (a stopped job never leaves half a model); its path."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        manifest = {
            "format": FORMAT,
            "version": VERSION,
            "algorithm": artifact.algorithm,
            "metadata": artifact.metadata,
        }
        archive.writestr(_MANIFEST, json.dumps(manifest, indent=1))
        for name, array in artifact.arrays.items():
            data = io.BytesIO()
            np.save(data, np.asarray(array), allow_pickle=False)
            archive.writestr(f"{name}.npy", data.getvalue())
    model_dir.mkdir(parents=True, exist_ok=True)
    path = model_dir / model_file_name(host)
    partial = model_dir / f".{path.name}.partial"
    partial.write_bytes(buffer.getvalue())
    os.replace(partial, path)
    return path


def find_artifact(model_dir: Path) -> Path:
    """The model file in an endpoint's model directory: `model_algo-1`, else the first `model_*` file."""
    preferred = model_dir / model_file_name("algo-1")
    if preferred.is_file():
        return preferred
    candidates = sorted(path for path in model_dir.glob("model_*") if path.is_file())
    if not candidates:
        raise ValueError(f"the model directory {model_dir} holds no model_algo-1 file")
    return candidates[0]


def read_artifact(path: Path, algorithm: str) -> ModelArtifact:
    """Load `path`; ValueError when it is not a sageforge artifact of `algorithm`."""
    try:
        with zipfile.ZipFile(path) as archive:
            manifest = json.loads(archive.read(_MANIFEST))
            arrays = {
                name.removesuffix(".npy"): np.load(io.BytesIO(archive.read(name)), allow_pickle=False)
                for name in archive.namelist()
                if name.endswith(".npy")
            }
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, ValueError) as error:
        raise ValueError(
            f"{path.name} is not a sageforge {algorithm} model ({error}); SageMaker's MXNet artifacts do not load "
            "in sageforge"
        ) from None
    if manifest.get("format") != FORMAT or manifest.get("algorithm") != algorithm:
        raise ValueError(
            f"{path.name} holds a {manifest.get('format')} model of {manifest.get('algorithm')}, not {algorithm}"
        )
    if manifest.get("version") != VERSION:
        raise ValueError(
            f"{path.name} is version {manifest.get('version')} of the format; this sageforge reads {VERSION}"
        )
    return ModelArtifact(algorithm, manifest.get("metadata", {}), arrays)
