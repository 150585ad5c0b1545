"""The source dir's ``requirements.txt``, honoured as the training toolkit does (``frameworks.training``): installed
into a Python environment of its own, cached by the file's content, that also sees sageforge's packages.

A replica's handlers run inside the runtime process, so the runtime itself must run in that environment:
before the model loads (the port is not open yet, nothing is served), the process replaces itself
(``os.execv``) with the same command under the environment's interpreter, and loads the model there. The
environments are cached under ``$SAGEFORGE_PYTHON_ENVIRONMENTS`` when the platform sets it, else in the
replica's directory (shared by a variant's replicas, built once under a file lock).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

from sageforge.frameworks.training.requirements import cache_folder, environment_for


def run_in_requirements_environment(code_dir: Path, environment: Mapping[str, str]) -> None:
    """Return when ``code_dir`` has no ``requirements.txt`` or this interpreter is its environment's; otherwise
    build (or reuse) the environment and exec this process's command in it (never returns). A failed install
    raises ``ProcessFailure`` (InstallRequirementsError, pip's message)."""
    requirements = code_dir / "requirements.txt"
    if not requirements.is_file():
        return
    base = Path(environment.get("SAGEMAKER_BASE_DIR", "/opt/ml"))
    python = environment_for(requirements, cache_folder(environment, base), environment)
    if Path(sys.prefix).resolve() == python.parent.parent.resolve():
        return
    print(f"Running the model server in the environment of {requirements}", flush=True)
    sys.stderr.flush()
    os.execv(python, [str(python), *sys.orig_argv[1:]])
