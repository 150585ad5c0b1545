"""Finding and importing the user's inference script, as the framework containers do.

``SAGEMAKER_PROGRAM`` names the script (default ``inference.py``) and ``SAGEMAKER_SUBMIT_DIRECTORY`` the directory
holding it:

- ``/opt/ml/...`` (the SDK's ``repack_model`` sets ``/opt/ml/model/code``): that path under
  ``$SAGEMAKER_BASE_DIR``, which stands for ``/opt/ml`` here;
- an ``s3://`` URI of a ``sourcedir.tar.gz`` (``SKLearnModel`` without repacking): the container would download
  and extract it into ``/opt/ml/code``; sageforge's control plane stages it there before the replica starts
  (a replica never reads the object store), so it is ``$SAGEMAKER_BASE_DIR/code``;
- unset: the model's own ``code/``.

A script that is not there is no user module when the program was left to its default (the framework's default
handlers serve), and a load failure when ``SAGEMAKER_PROGRAM`` named it.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType

DEFAULT_PROGRAM = "inference.py"
_CONTAINER_BASE = "/opt/ml/"


def code_directory(model_dir: Path, environment: Mapping[str, str]) -> Path:
    """Where the user's code is, by ``SAGEMAKER_SUBMIT_DIRECTORY`` (see the module docstring)."""
    base = Path(environment.get("SAGEMAKER_BASE_DIR", "/opt/ml"))
    submitted = environment.get("SAGEMAKER_SUBMIT_DIRECTORY", "")
    if not submitted:
        return model_dir / "code"
    if submitted.startswith("s3://"):
        return base / "code"
    if submitted.startswith(_CONTAINER_BASE):
        return base / submitted.removeprefix(_CONTAINER_BASE)
    return Path(submitted)


def import_user_module(code_dir: Path, environment: Mapping[str, str]) -> ModuleType | None:
    """Import the script ``SAGEMAKER_PROGRAM`` names from ``code_dir`` (put first on ``sys.path``, so its own
    modules import too); None when the default program is absent. Raises ``FileNotFoundError`` for a named
    program that is absent, and whatever the script raises while it is imported."""
    program = environment.get("SAGEMAKER_PROGRAM", "")
    name = (program or DEFAULT_PROGRAM).removesuffix(".py")
    if not ((code_dir / f"{name}.py").is_file() or (code_dir / name / "__init__.py").is_file()):
        if not program:
            return None
        raise FileNotFoundError(
            f"The inference script {program} (SAGEMAKER_PROGRAM) is not in the source directory {code_dir}."
        )
    sys.path.insert(0, str(code_dir))
    return importlib.import_module(name)
