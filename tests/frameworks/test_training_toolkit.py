"""The training toolkit's pieces: the requirements environment and its cache, the entry point's command, and the
failure a script's exception becomes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sageforge.frameworks.training.entry_point import entry_point_command
from sageforge.frameworks.training.errors import ProcessFailure
from sageforge.frameworks.training.process import run_process
from sageforge.frameworks.training.requirements import environment_for


def test_requirements_environment_is_built_once_per_content_and_sees_installed_packages(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first, second = tmp_path / "first", tmp_path / "second"
    for folder in (first, second):
        folder.mkdir()
        (folder / "requirements.txt").write_text("joblib\n")

    python = environment_for(first / "requirements.txt", cache, dict(os.environ))
    built = (python.parent.parent / ".sageforge-ready").stat().st_mtime_ns
    # Same content from another job: the same environment, not rebuilt (no pip run, its marker untouched).
    assert environment_for(second / "requirements.txt", cache, dict(os.environ)) == python
    assert (python.parent.parent / ".sageforge-ready").stat().st_mtime_ns == built

    # The server's packages are visible there, its own site folder comes first, and the server's is untouched.
    probe = "import json, joblib, sys; print(json.dumps([joblib.__file__, sys.prefix]))"
    found, prefix = json.loads(subprocess.run([python, "-c", probe], capture_output=True, check=True).stdout)
    assert Path(found).is_relative_to(Path(sys.prefix)) and Path(prefix) == python.parent.parent


def test_a_bad_requirement_fails_with_pips_message_and_leaves_no_environment(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("not a requirement ===\n")
    with pytest.raises(ProcessFailure) as failure:
        environment_for(tmp_path / "requirements.txt", tmp_path / "cache", dict(os.environ))
    assert failure.value.kind == "InstallRequirementsError" and failure.value.exit_code != 0
    assert "Invalid requirement" in failure.value.error_message
    assert [p.suffix for p in (tmp_path / "cache").iterdir()] == [".lock"]


def test_entry_point_commands_follow_the_toolkits_rules(tmp_path: Path) -> None:
    args = ["--lr", "0.1", "--name", "a b"]
    assert entry_point_command(tmp_path, "train.py", args, "/py") == ["/py", "train.py", *args]
    assert entry_point_command(tmp_path, "run.sh", args, "/py") == ["/bin/sh", "-c", "./run.sh --lr 0.1 --name 'a b'"]
    (tmp_path / "setup.py").write_text("")
    assert entry_point_command(tmp_path, "trainer.py", args, "/py") == ["/py", "-m", "trainer", *args]


def test_a_raising_script_writes_the_toolkits_failure_file(tmp_path: Path) -> None:
    config = tmp_path / "input" / "config"
    config.mkdir(parents=True)
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "train.py").write_text(
        "import sys\nprint('epoch 1', flush=True)\nraise ValueError(f'bad learning rate {sys.argv[1:]}')\n"
    )
    (config / "hyperparameters.json").write_text(json.dumps({"lr": "10", "sagemaker_program": '"train.py"'}))
    (config / "inputdataconfig.json").write_text("{}")
    (config / "resourceconfig.json").write_text(json.dumps({"current_host": "algo-1", "hosts": ["algo-1"]}))
    environment = {**os.environ, "SAGEMAKER_BASE_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "sageforge.frameworks.training"], env=environment, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert "epoch 1" in result.stdout and "Traceback" in result.stderr
    assert (tmp_path / "output" / "failure").read_text() == (
        "AlgorithmError: ExecuteUserScriptError:\n"
        "ExitCode 1\n"
        "ErrorMessage \"raise ValueError(f'bad learning rate {sys.argv[1:]}')\n"
        "ValueError: bad learning rate ['--lr', '10']\"\n"
        f'Command "{sys.executable} train.py --lr 10"'
    )


def test_the_error_message_keeps_the_exception_that_ended_a_noisy_script(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "print('RuntimeError: a warning that only looks like an error', file=sys.stderr)\n"
        "for n in range(500): print(f'noise {n}', file=sys.stderr)\n"
        "raise KeyError('the real cause')\n"
    )
    with pytest.raises(ProcessFailure) as failure:
        run_process([sys.executable, "-c", script], cwd=tmp_path, env=dict(os.environ), kind="ExecuteUserScriptError")
    reason = f"AlgorithmError: {failure.value}"
    assert "KeyError: 'the real cause'" in reason[:1024] and "noise 499" in failure.value.error_message
    assert "looks like an error" not in failure.value.error_message
