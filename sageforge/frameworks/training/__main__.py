"""``python -m sageforge.frameworks.training``: train with the user's entry point; exit with its status."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from sageforge.frameworks.training.entry_point import CodeUnavailable, entry_point_command, extract_local_code
from sageforge.frameworks.training.environment import ContainerPaths, TrainingEnvironment
from sageforge.frameworks.training.errors import ProcessFailure
from sageforge.frameworks.training.process import run_process
from sageforge.frameworks.training.requirements import cache_folder, environment_for


def main() -> int:
    base = Path(os.environ.get("SAGEMAKER_BASE_DIR", "/opt/ml"))
    paths = ContainerPaths(base)
    environment = TrainingEnvironment.read(base, os.environ)
    program = environment.user_entry_point
    if program is None:
        return _fail(paths, "ClientError: No entry point: the job has no sagemaker_program hyperparameter.", 1)
    code = paths.code
    env = {**os.environ, **environment.variables(), **environment.process_variables()}
    # The code folder first on the path, as the toolkit puts it at the front of sys.path.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(code), os.environ.get("PYTHONPATH")]))
    try:
        extract_local_code(paths, environment.module_dir)
        python = sys.executable
        requirements = code / "requirements.txt"
        if requirements.is_file():
            python = str(environment_for(requirements, cache_folder(os.environ, base), env))
        command = entry_point_command(code, program, environment.user_args, python)
        print(f"Invoking script with the following command:\n\n{' '.join(command)}\n", flush=True)
        run_process(command, cwd=code, env=env, kind="ExecuteUserScriptError")
    except CodeUnavailable as unavailable:
        return _fail(paths, str(unavailable), 1)
    except ProcessFailure as failure:
        return _fail(paths, f"AlgorithmError: {failure}", failure.exit_code)
    return 0


def _fail(paths: ContainerPaths, reason: str, exit_code: int) -> int:
    """Write ``reason`` where the platform reads the FailureReason, print it, and pass ``exit_code`` on."""
    paths.failure_file.parent.mkdir(parents=True, exist_ok=True)
    paths.failure_file.write_text(reason, encoding="utf-8")
    print(reason, file=sys.stderr, flush=True)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
