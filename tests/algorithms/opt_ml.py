"""A built-in's container run as the engine runs it: an `/opt/ml` layout in a temporary directory, and the
train module as a process (`python -m <train_module>`) with `SAGEMAKER_BASE_DIR` pointing there."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Channel:
    """A channel's one data file and its ContentType (None: the channel declares none)."""

    data: bytes
    content_type: str | None = "text/csv"
    file_name: str = "data"


@dataclass(frozen=True)
class Run:
    base: Path
    returncode: int
    output: str  # stdout and stderr, interleaved as the engine's log sees them

    @property
    def failure(self) -> str | None:
        path = self.base / "output" / "failure"
        return path.read_text() if path.exists() else None

    @property
    def model_dir(self) -> Path:
        return self.base / "model"


def csv_rows(rows: npt.NDArray[np.float64]) -> bytes:
    """Rows as CSV, label first, no header."""
    return "".join(",".join(f"{value:.8g}" for value in row) + "\n" for row in rows).encode()


def write_layout(base: Path, hyperparameters: Mapping[str, str], channels: Mapping[str, Channel]) -> Path:
    config = base / "input" / "config"
    config.mkdir(parents=True)
    (config / "hyperparameters.json").write_text(json.dumps(dict(hyperparameters)))
    data_config = {
        name: {"TrainingInputMode": "File", **({"ContentType": c.content_type} if c.content_type else {})}
        for name, c in channels.items()
    }
    (config / "inputdataconfig.json").write_text(json.dumps(data_config))
    (config / "resourceconfig.json").write_text(json.dumps({"current_host": "algo-1", "hosts": ["algo-1"]}))
    for name, channel in channels.items():
        directory = base / "input" / "data" / name
        directory.mkdir(parents=True)
        (directory / channel.file_name).write_bytes(channel.data)
    (base / "model").mkdir()
    (base / "output").mkdir()
    return base


def run_container(
    module: str, base: Path, hyperparameters: Mapping[str, str], channels: Mapping[str, Channel], timeout: float = 120
) -> Run:
    write_layout(base, hyperparameters, channels)
    result = subprocess.run(
        [sys.executable, "-m", module],
        cwd=base,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT), "SAGEMAKER_BASE_DIR": str(base)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
    )
    return Run(base, result.returncode, result.stdout)
