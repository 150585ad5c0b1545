"""The peer reference of ``bench/invoke.py``: ``mlflow models serve`` on the same booster, run from an
environment of its own -- mlflow is far too heavy to become a dependency of sageforge or of its tests.

The first run creates ``bench/.data/mlflow-venv`` with pip from the package registry (a few minutes, about
1 GB) holding mlflow and the same xgboost version as sageforge's; later runs reuse it. The booster is saved
with ``mlflow.xgboost.save_model`` and a signature (``bench/mlflow_model.py``) and served the way mlflow's
documentation shows: ``mlflow models serve --env-manager local`` with one uvicorn worker (as the bare app
has) and every other setting at its default. The request is what an mlflow user sends: ``application/json``
with the row as a ``dataframe_split`` (the format of ``mlflow models serve --help``'s examples; ``text/csv``
would need a header line as well).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
import xgboost

from bench.server import wait_until_answering
from sageforge.ports import free_port

# 3.x serves models with FastAPI on uvicorn (2.x used Flask on gunicorn until 2.21) and takes -w for the
# number of uvicorn workers: the server mlflow users get today, started with the flags below.
MLFLOW_REQUIREMENT = "mlflow>=3.0"
# The CPU build of the very xgboost sageforge runs: same predictions, without the ~500 MB of NCCL (GPU
# collectives) the default wheel pulls in.
XGBOOST_REQUIREMENT = f"xgboost-cpu=={xgboost.__version__}"
# mlflow 3 reports usage to its telemetry service unless told not to; the benchmark sends nothing out.
_QUIET = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
_START_TIMEOUT = 180


class Unavailable(Exception):
    """The mlflow environment could not be created (no network, no wheel for this platform)."""


def environment(work: Path) -> Path:
    """The Python of the mlflow environment under ``work``, created on first use.

    Raises Unavailable when pip cannot install it; a half-made environment is removed.
    """
    venv = work / "mlflow-venv"
    python = venv / "bin" / "python"
    requirements = [MLFLOW_REQUIREMENT, XGBOOST_REQUIREMENT]
    # Written last, so an interrupted install is redone rather than reused.
    marker = venv / "bench-requirements.txt"
    if marker.is_file() and marker.read_text().split() == requirements:
        return python
    shutil.rmtree(venv, ignore_errors=True)
    print(f"\n(creating {venv} with {' '.join(requirements)}; once, a few minutes)", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--retries", "2"]
    install = subprocess.run([*pip, *requirements], capture_output=True, text=True)
    if install.returncode != 0:
        shutil.rmtree(venv, ignore_errors=True)
        lines = [line for line in install.stderr.splitlines() if line.strip()]
        reason = ([line for line in lines if line.startswith("ERROR")] or lines or [f"exit {install.returncode}"])[-1]
        raise Unavailable(f"pip install {' '.join(requirements)} failed: {reason}")
    marker.write_text("\n".join(requirements) + "\n")
    return python


@contextmanager
def mlflow_server(python: Path, model_file: Path, request: bytes, expected: float, work: Path) -> Iterator[str]:
    """``mlflow models serve`` on the booster in ``model_file``; yields its base URL once it answers ``request``
    (a ``dataframe_split`` JSON body) with ``expected``. Its log goes to ``work/mlflow-serve.log``."""
    bin_dir = python.parent
    # As an activated environment would be: mlflow starts uvicorn by name.
    env = {**os.environ, **_QUIET, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    model_dir, request_file = work / "mlflow-model", work / "mlflow-request.json"
    shutil.rmtree(model_dir, ignore_errors=True)
    request_file.write_bytes(request)
    save = [str(python), str(Path(__file__).with_name("mlflow_model.py"))]
    saved = subprocess.run(
        [*save, str(model_file), str(model_dir), str(request_file)], env=env, capture_output=True, text=True
    )
    if saved.returncode != 0:
        raise RuntimeError(f"mlflow.xgboost.save_model failed:\n{saved.stderr}")
    port = free_port()
    serve = [str(bin_dir / "mlflow"), "models", "serve", "-m", str(model_dir), "--env-manager", "local"]
    with (work / "mlflow-serve.log").open("wb") as log:
        # A session of its own: mlflow runs uvicorn as a child, and one signal to the group stops both.
        process = subprocess.Popen(
            [*serve, "-p", str(port), "-w", "1"], env=env, stdout=log, stderr=log, start_new_session=True
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_answering(f"{url}/ping", process, _START_TIMEOUT)
            answer = requests.post(
                f"{url}/invocations", data=request, headers={"Content-Type": "application/json"}, timeout=30
            )
            assert answer.json() == {"predictions": [expected]}, answer.text
            yield url
        finally:
            # The group is gone already when mlflow failed to start.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)


def dataframe_split(columns: list[str], row: list[float]) -> bytes:
    """The JSON body an mlflow user posts for one row."""
    return json.dumps({"dataframe_split": {"columns": columns, "data": [row]}}).encode()
