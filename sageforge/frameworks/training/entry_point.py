"""The user's code in ``code/`` and the command that runs its entry point, as the toolkit has them."""

from __future__ import annotations

import shlex
import tarfile
from collections.abc import Sequence
from pathlib import Path

from sageforge.frameworks.training.environment import ContainerPaths

CONTAINER_BASE_DIR = "/opt/ml/"


class CodeUnavailable(Exception):
    """The code a job names cannot be put in ``code/``; the message is the job's FailureReason."""


def extract_local_code(paths: ContainerPaths, module_dir: str) -> None:
    """Fill an empty ``code/`` from ``module_dir`` when it is a path inside the container, as the toolkit does
    with network isolation, where the SDK sends the code as the ``code`` channel
    (``/opt/ml/input/data/code/sourcedir.tar.gz``). An S3 ``module_dir`` has been extracted by the platform."""
    if not module_dir.startswith(CONTAINER_BASE_DIR) or any(paths.code.iterdir()):
        return
    archive = paths.base / module_dir.removeprefix(CONTAINER_BASE_DIR)
    try:
        with tarfile.open(archive) as tar:
            # The "data" filter refuses links out of the folder, absolute paths, devices and ".." members.
            tar.extractall(paths.code, filter="data")
    except (OSError, tarfile.TarError) as error:
        raise CodeUnavailable(
            f"ClientError: The source code archive {module_dir} (sagemaker_submit_directory) cannot be extracted: "
            f"{error}"
        ) from None


def entry_point_command(code_dir: Path, program: str, args: Sequence[str], python: str) -> list[str]:
    """``python -m <module>`` for a package (``setup.py`` in the code), ``python <program>`` for a ``.py``
    program, and ``/bin/sh -c ./<program> <args>`` for anything else; ``args`` follow in each case."""
    if (code_dir / "setup.py").is_file():
        return [python, "-m", program.replace(".py", ""), *args]
    if program.endswith(".py"):
        return [python, program, *args]
    return ["/bin/sh", "-c", f"./{program} {' '.join(shlex.quote(arg) for arg in args)}"]
