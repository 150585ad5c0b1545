"""The first-party training container's side of the SageMaker contract: where things are, and how a job fails.

The engine runs `python -m sageforge.algorithms.<name>.train` with `$SAGEMAKER_BASE_DIR` (default `/opt/ml`)
holding `input/config/{hyperparameters,inputdataconfig,resourceconfig}.json` and the channels under
`input/data/<channel>/` (File mode) or streamed through `input/data/<channel>_<epoch>` (Pipe mode).
`run_training` is an algorithm's `main`: it sets up the 1P log format, gathers a multi-instance job's shards
on the first host (`gather`; the other hosts exit 0 without training), runs the algorithm, and on failure writes
`output/failure` -- `ClientError: <message>` for a `UserError` (the job's input is wrong), `AlgorithmError:
<message>` for anything else -- prints it and returns exit status 1, the contract the XGBoost container keeps
too (its copy lives in its train module, which imports xgboost).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sageforge.algorithms.base import BuiltinAlgorithm, UserError
from sageforge.algorithms.first_party.gather import gather_shards

logger = logging.getLogger("sageforge.algorithms.first_party")

_LOG_FORMAT = "[%(asctime)s %(levelname)s %(thread)d] %(message)s"
_LOG_DATE_FORMAT = "%m/%d/%Y %H:%M:%S"
_SINGLE_HOST = {"current_host": "algo-1", "hosts": ["algo-1"]}


@dataclass(frozen=True)
class Container:
    """One training instance's `/opt/ml` and what its config files say."""

    base_dir: Path

    @classmethod
    def from_environment(cls) -> Container:
        return cls(Path(os.environ.get("SAGEMAKER_BASE_DIR", "/opt/ml")))

    def config(self, name: str, default: Any = None) -> Any:
        """`input/config/<name>` parsed; `default` when the file is absent (None: the file must exist)."""
        path = self.base_dir / "input" / "config" / name
        if default is not None and not path.exists():
            return default
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UserError(f"{path} is missing") from None
        except json.JSONDecodeError as error:
            raise UserError(f"{path} is not valid JSON: {error}") from None

    @property
    def hyperparameters(self) -> dict[str, str]:
        raw: dict[str, Any] = self.config("hyperparameters.json", default={})
        # CreateTrainingJob's map holds strings; a hand-written config may hold numbers, read as their text.
        return {name: value if isinstance(value, str) else json.dumps(value) for name, value in raw.items()}

    @property
    def input_data_config(self) -> Mapping[str, Mapping[str, str]]:
        config: Mapping[str, Mapping[str, str]] = self.config("inputdataconfig.json", default={})
        return config

    @property
    def resource_config(self) -> Mapping[str, Any]:
        config: Mapping[str, Any] = self.config("resourceconfig.json", default=_SINGLE_HOST)
        return config

    @property
    def current_host(self) -> str:
        return str(self.resource_config["current_host"])

    @property
    def hosts(self) -> tuple[str, ...]:
        return tuple(self.resource_config["hosts"])

    @property
    def is_first_host(self) -> bool:
        return self.current_host == self.hosts[0]

    def channel_dir(self, channel: str) -> Path:
        return self.base_dir / "input" / "data" / channel

    def pipe_path(self, channel: str, epoch: int) -> Path:
        """The FIFO a Pipe-mode channel streams epoch `epoch` through (`<channel>_<epoch>`)."""
        return self.base_dir / "input" / "data" / f"{channel}_{epoch}"

    @property
    def model_dir(self) -> Path:
        return self.base_dir / "model"

    @property
    def failure_file(self) -> Path:
        return self.base_dir / "output" / "failure"


def configure_logging() -> None:
    """The 1P framework's log format on stdout, one flushed line per record, so the engine sees lines live."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter(_LOG_FORMAT, _LOG_DATE_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)


def run_training(algorithm: BuiltinAlgorithm, train: Callable[[Container], None]) -> int:
    """Check the job's channels against `algorithm`'s and run `train` under the failure contract; the process's
    exit status."""
    configure_logging()
    container = Container.from_environment()
    try:
        check_channels(container, algorithm)
        # Only the first host trains, on every host's shards (see `gather`).
        if len(container.hosts) == 1 or gather_shards(container):
            train(container)
    except UserError as error:
        return fail(container, f"ClientError: {error}")
    except Exception as error:  # every failure must reach output/failure, as SageMaker reports it
        logger.exception("training failed")
        return fail(container, f"AlgorithmError: {str(error) or type(error).__name__}")
    return 0


def check_channels(container: Container, algorithm: BuiltinAlgorithm) -> None:
    """Every channel given is one `algorithm` takes, and every channel it requires is given."""
    given, known = container.input_data_config, [channel.name for channel in algorithm.channels]
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise UserError(f"Channel {unknown[0]} is not supported by {algorithm.title}; use: {', '.join(known)}")
    for name in algorithm.required_channels:
        if name not in given:
            raise UserError(f"{algorithm.title} needs a {name} channel")


def fail(container: Container, reason: str) -> int:
    """Write `reason` to `output/failure`, print it, and return the failed exit status."""
    container.failure_file.parent.mkdir(parents=True, exist_ok=True)
    container.failure_file.write_text(reason, encoding="utf-8")
    print(reason, file=sys.stderr, flush=True)
    return 1
