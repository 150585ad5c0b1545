"""Entry point of the built-in XGBoost container: `python -m sageforge.algorithms.xgboost.train`.

The engine runs it once per instance under the SageMaker container contract:

- `$SAGEMAKER_BASE_DIR` (default `/opt/ml`) holds `input/config/{hyperparameters,inputdataconfig,resourceconfig}.json`,
  the staged channels under `input/data/<channel>/`, and receives `model/xgboost-model` (UBJSON, what
  `Booster.save_model` writes for a name without extension; loads with `xgboost.Booster(model_file=...)`).
- `SAGEFORGE_HOSTS` (JSON host -> address) and `SAGEFORGE_COLLECTIVE_PORT` (a free port on the first host)
  drive multi-instance training: the first host runs XGBoost's tracker, every host joins the collective
  with its own shard, and only the first host writes the model.
- Both channels take the train channel's `ContentType`: `text/libsvm` (the default), `text/csv` (label first;
  `csv_weights=1`: weight second) or `application/x-recordio-protobuf` (`features["values"]` dense or sparse,
  `label["values"]` required). Parquet, which the container also reads, is refused.
- `SAGEFORGE_ALGORITHM_VERSION` (optional) is the image tag's version, e.g. `1.7-1`; it is logged. Every
  version writes the same artifact format and uses the 1.3-1+ early-stopping rules (best model kept).

Each round prints `[<round>]\\ttrain-<metric>:<value>\\tvalidation-<metric>:<value>` to stdout, as the
container does. On failure `output/failure` holds `ClientError: ...` (bad input) or `AlgorithmError: ...`
and the exit status is 1. This module imports only the standard library, numpy, scipy, pandas, xgboost and
`sageforge.algorithms`.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __name__ == "__main__":
    # xgboost imports scikit-learn, when installed, only for its estimator wrappers; the container trains
    # with the core API, and skipping that import takes about a second off every job's start.
    sys.modules.setdefault("sklearn", None)  # type: ignore[arg-type]

import numpy as np  # noqa: E402
import xgboost  # noqa: E402
from xgboost import collective
from xgboost.callback import EarlyStopping, TrainingCallback
from xgboost.tracker import RabitTracker

from sageforge.algorithms.base import UserError
from sageforge.algorithms.formats import ContentType, DataFormat, LabeledData, data_files, parse_content_type
from sageforge.algorithms.formats.csv import read_csv
from sageforge.algorithms.formats.libsvm import read_libsvm
from sageforge.algorithms.formats.recordio_protobuf import read_files
from sageforge.algorithms.xgboost import CHANNELS
from sageforge.algorithms.xgboost.hyperparameters import TrainingConfig, parse_hyperparameters
from sageforge.algorithms.xgboost.metrics import custom_metric, split_metrics

MODEL_NAME = "xgboost-model"
# Hosts start at slightly different times and load data before the first collective call.
_TRACKER_BOOTSTRAP_TIMEOUT_S = 600
_TRACKER_SHUTDOWN_TIMEOUT_S = 60
_CONNECT_RETRIES = 10
# Substrings of XGBoost errors caused by the user's data or parameters (the container's list, plus XGBoost 3 wording).
_USER_ERROR_MARKERS = (
    "label must be",
    "base_score must be in (0,1)",
    "feature_names mismatch",
    "preds.size() == info.labels_.size()",
    "only contains pos or neg samples",
    "should be greater equal to 0",
    "Invalid Input",
)

logger = logging.getLogger("sageforge.algorithms.xgboost")


@dataclass(frozen=True)
class Container:
    """Where this instance's `/opt/ml` is and what the engine told it about the cluster."""

    base_dir: Path
    addresses: Mapping[str, str]
    collective_port: int | None
    version: str | None

    @classmethod
    def from_environment(cls) -> Container:
        port = os.environ.get("SAGEFORGE_COLLECTIVE_PORT")
        return cls(
            base_dir=Path(os.environ.get("SAGEMAKER_BASE_DIR", "/opt/ml")),
            addresses=json.loads(os.environ.get("SAGEFORGE_HOSTS", "{}")),
            collective_port=int(port) if port else None,
            version=os.environ.get("SAGEFORGE_ALGORITHM_VERSION"),
        )

    def config(self, name: str, default: Any = None) -> Any:
        path = self.base_dir / "input" / "config" / name
        if default is not None and not path.exists():
            return default
        return json.loads(path.read_text())

    def channel_dir(self, channel: str) -> Path:
        return self.base_dir / "input" / "data" / channel

    @property
    def model_dir(self) -> Path:
        return self.base_dir / "model"


@dataclass(frozen=True)
class Job:
    """Everything the training of one instance depends on, validated."""

    container: Container
    config: TrainingConfig
    data_format: DataFormat
    channels: frozenset[str]
    hosts: tuple[str, ...]
    current_host: str

    @property
    def is_master(self) -> bool:
        return self.current_host == self.hosts[0]


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s:%(levelname)s] %(message)s", stream=sys.stderr)
    container = Container.from_environment()
    try:
        run(prepare(container))
    except UserError as error:
        return _fail(container, f"ClientError: {error}")
    except Exception as error:  # every failure must reach output/failure, as SageMaker reports it
        logger.exception("training failed")
        return _fail(container, f"AlgorithmError: {_summary(error)}")
    return 0


def prepare(container: Container) -> Job:
    """Validate the job's configuration; identical on every host, so every host fails alike."""
    config = parse_hyperparameters(container.config("hyperparameters.json", default={}))
    data_config: dict[str, dict[str, str]] = container.config("inputdataconfig.json")
    unknown = sorted(set(data_config) - set(CHANNELS))
    if unknown:
        raise UserError(f"Channel {unknown[0]} is not supported by XGBoost; use: {', '.join(CHANNELS)}")
    if "train" not in data_config:
        raise UserError(f"No data in training channel path {container.channel_dir('train')}")
    piped = sorted(name for name, channel in data_config.items() if channel.get("TrainingInputMode") == "Pipe")
    if piped:
        # A known gap: SageMaker's XGBoost streams CSV and RecordIO-protobuf in Pipe mode (through mlio); this
        # container reads files only, and says so rather than finding no data.
        raise UserError(f"Channel {piped[0]}: Pipe input mode is not supported by this XGBoost container; use File")
    resources = container.config("resourceconfig.json", default={"current_host": "algo-1", "hosts": ["algo-1"]})
    logger.info(
        "SageMaker XGBoost %s on XGBoost %s, host %s of %s",
        container.version or "(unversioned)",
        xgboost.__version__,
        resources["current_host"],
        resources["hosts"],
    )
    return Job(
        container=container,
        config=config,
        data_format=_data_format(data_config["train"].get("ContentType")),
        channels=frozenset(data_config),
        hosts=tuple(resources["hosts"]),
        current_host=resources["current_host"],
    )


def run(job: Job) -> None:
    if len(job.hosts) == 1:
        train, validation = _load_channels(job)
        _fit_and_save(job, _require_data(job, train, validation), validation)
        return
    container = job.container
    address = container.addresses.get(job.hosts[0])
    if address is None or container.collective_port is None:
        raise RuntimeError("multi-instance training needs SAGEFORGE_HOSTS and SAGEFORGE_COLLECTIVE_PORT")
    tracker = _start_tracker(address, container.collective_port, len(job.hosts)) if job.is_master else None
    if tracker is None:
        _wait_for_tracker(address, container.collective_port)
    try:
        with collective.CommunicatorContext(
            dmlc_tracker_uri=address,
            dmlc_tracker_port=container.collective_port,
            dmlc_task_id=job.current_host,  # with sortby="task", rank follows the host names
            dmlc_retry=_CONNECT_RETRIES,
        ):
            _fit_and_save(job, *_load_channels_together(job))
    finally:
        if tracker is not None:
            _stop_tracker(tracker)


def _data_format(content_type: str | None) -> DataFormat:
    # XGBoost's default when the channel declares no ContentType is libsvm.
    parsed = parse_content_type(content_type) if content_type else ContentType(DataFormat.LIBSVM)
    if parsed.data_format is DataFormat.CSV and parsed.label_size not in (None, 1):
        raise UserError(
            f"{content_type} is not an accepted csv ContentType. Optional parameter label_size must be equal to 1"
        )
    if parsed.data_format is DataFormat.PARQUET:
        # LIMITATION: the container also reads parquet.
        raise UserError(
            f"ContentType {content_type} is not supported by sageforge's XGBoost; "
            "use text/csv, text/libsvm or application/x-recordio-protobuf"
        )
    return parsed.data_format


def _load_channels(job: Job) -> tuple[LabeledData | None, LabeledData | None]:
    return _load(job, "train"), _load(job, "validation") if "validation" in job.channels else None


def _load(job: Job, channel: str) -> LabeledData | None:
    files = data_files(job.container.channel_dir(channel))
    if job.data_format is DataFormat.CSV:
        data = read_csv(files, has_weights=job.config.csv_weights)
    elif job.data_format is DataFormat.RECORDIO_PROTOBUF:
        data = _read_recordio_protobuf(files)
    else:
        data = read_libsvm(files)
    logger.info("channel %s: %d rows, %d features from %d files", channel, data.num_rows, data.num_features, len(files))
    return data if data.num_rows else None


def _read_recordio_protobuf(files: list[Path]) -> LabeledData:
    """Rows from `features["values"]` (dense, or sparse: absent entries missing), labels from `label["values"]`."""
    try:
        features, labels = read_files(files)
    except ValueError as error:
        raise UserError(str(error)) from None
    if labels is None and features.shape[0]:
        raise UserError(
            f"Got input data without labels (no label['values'] in {files[0]}). Please check the input data set."
        )
    return LabeledData(
        features=features.astype(np.float32, copy=False),
        labels=np.empty(0, dtype=np.float32) if labels is None else labels.astype(np.float32, copy=False),
    )


def _require_data(job: Job, train: LabeledData | None, validation: LabeledData | None) -> LabeledData:
    """`train`, once the channels are known to hold what training needs."""
    if train is None:
        raise UserError(f"No data in training channel path {job.container.channel_dir('train')}")
    if "validation" in job.channels and validation is None:
        raise UserError(f"No data in validation channel path {job.container.channel_dir('validation')}")
    # libsvm rows name their columns, so its channels may differ in width; the other formats' rows have one.
    widths_fixed = job.data_format is not DataFormat.LIBSVM
    if widths_fixed and validation is not None and validation.num_features != train.num_features:
        raise UserError(
            f"feature_names mismatch: validation data has {validation.num_features} feature columns, "
            f"training data has {train.num_features}"
        )
    return train


def _load_channels_together(job: Job) -> tuple[LabeledData, LabeledData | None]:
    """Load this host's shard, then agree with the other hosts that every host can train.

    A host that stopped on its own data would leave the others waiting in the collective, so each host
    reports what it found first and all of them stop together when any host cannot train.
    """
    failure: Exception | None = None
    try:
        train, validation = _load_channels(job)
        loaded = (_require_data(job, train, validation), validation)
    except Exception as error:  # any failure, so that no host is left waiting in the allreduce below
        failure = error
    status = np.array([failure is None], dtype=np.float64)
    hosts_ready = int(collective.allreduce(status, collective.Op.SUM)[0])
    if isinstance(failure, UserError):
        raise UserError(f"host {job.current_host}: {failure}") from failure
    if failure is not None:
        raise failure
    if hosts_ready < len(job.hosts):
        raise UserError(f"{len(job.hosts) - hosts_ready} other host(s) could not read their data; see their logs")
    return loaded


def _fit_and_save(job: Job, train: LabeledData, validation: LabeledData | None) -> None:
    booster = fit(job, train, validation)
    if job.is_master:
        write_model(booster, job.container.model_dir)
        logger.info("model saved to %s", job.container.model_dir / MODEL_NAME)


def fit(job: Job, train: LabeledData, validation: LabeledData | None) -> xgboost.Booster:
    """Train with the container's watchlist, metrics and early stopping; XGBoost errors become Client/Algorithm errors."""
    config = job.config
    params: dict[str, Any] = {"nthread": available_cpus(), **config.params}
    native, custom = split_metrics(config.metrics)
    if native:
        params["eval_metric"] = native
    evals = [(_dmatrix(train, params["nthread"]), "train")]
    if validation is not None:
        evals.append((_dmatrix(validation, params["nthread"]), "validation"))
    callbacks: list[TrainingCallback] = [MetricLinePrinter(enabled=job.is_master)]
    if config.save_model_on_termination and job.is_master:
        callbacks.append(ModelWriter(job.container.model_dir))
    if config.early_stopping_rounds is not None:
        if config.early_stopping_metric is None:
            logger.warning("early_stopping_rounds needs eval_metric or _tuning_objective_metric; not stopping early")
        else:
            callbacks.append(
                EarlyStopping(
                    rounds=config.early_stopping_rounds,
                    metric_name=config.early_stopping_metric,
                    data_name=evals[-1][1],
                    maximize=config.maximize_early_stopping_metric,
                    save_best=True,
                )
            )
    objective = str(params.get("objective", "reg:squarederror"))
    try:
        return xgboost.train(
            params,
            evals[0][0],
            num_boost_round=config.num_round,
            evals=evals,
            custom_metric=custom_metric(custom, objective) if custom else None,
            callbacks=callbacks,
            verbose_eval=False,
        )
    except xgboost.core.XGBoostError as error:
        message = _summary(error)
        if any(marker in message for marker in _USER_ERROR_MARKERS):
            raise UserError(message) from None
        raise RuntimeError(f"XGB train call failed with exception:\n {message}") from None


def _dmatrix(data: LabeledData, nthread: int) -> xgboost.DMatrix:
    return xgboost.DMatrix(data.features, label=data.labels, weight=data.weights, qid=data.qid, nthread=nthread)


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask, which the engine may narrow), the default nthread."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


class MetricLinePrinter(TrainingCallback):
    """Prints each round's evaluation as the container does, flushed so the engine sees it as it happens."""

    def __init__(self, enabled: bool) -> None:
        super().__init__()
        self._enabled = enabled

    def after_iteration(self, model: Any, epoch: int, evals_log: TrainingCallback.EvalsLog) -> bool:
        if self._enabled and evals_log:
            fields = "".join(
                f"\t{data}-{metric}:{_last(values):.5f}"
                for data, metrics in evals_log.items()
                for metric, values in metrics.items()
            )
            print(f"[{epoch}]{fields}", flush=True)
        return False


class ModelWriter(TrainingCallback):
    """`save_model_on_termination=true`: the model of the latest round is always in `model/`, for a stopped job."""

    def __init__(self, model_dir: Path) -> None:
        super().__init__()
        self._model_dir = model_dir

    def after_iteration(self, model: Any, epoch: int, evals_log: TrainingCallback.EvalsLog) -> bool:
        write_model(model, self._model_dir)
        return False


def _last(values: list[float] | list[tuple[float, float]]) -> float:
    last = values[-1]
    return last[0] if isinstance(last, tuple) else last  # (mean, std) only in xgboost.cv


def write_model(booster: xgboost.Booster, model_dir: Path) -> None:
    """Write `model/xgboost-model` atomically, so a job stopped mid-write never leaves half a model."""
    model_dir.mkdir(parents=True, exist_ok=True)
    partial = model_dir / f".{MODEL_NAME}.partial"
    partial.write_bytes(booster.save_raw(raw_format="ubj"))
    os.replace(partial, model_dir / MODEL_NAME)


def _start_tracker(address: str, port: int, hosts: int) -> RabitTracker:
    tracker = RabitTracker(
        n_workers=hosts, host_ip=address, port=port, sortby="task", timeout=_TRACKER_BOOTSTRAP_TIMEOUT_S
    )
    tracker.start()
    logger.info("collective tracker listening on %s:%d for %d hosts", address, port, hosts)
    return tracker


def _wait_for_tracker(address: str, port: int) -> None:
    """Return once the first host's tracker accepts connections.

    XGBoost retries a refused connection only after growing pauses (2 s, 4 s, ...), so a host that asks
    before the tracker listens loses seconds. This probe costs the tracker one "Failed to initialize
    worker proxy" warning in the first host's log.
    """
    deadline = time.monotonic() + _TRACKER_BOOTSTRAP_TIMEOUT_S
    while True:
        try:
            with socket.create_connection((address, port), timeout=5):
                return
        except OSError as error:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the collective tracker at {address}:{port} is not reachable: {error}") from None
            time.sleep(0.1)


def _stop_tracker(tracker: RabitTracker) -> None:
    try:
        tracker.wait_for(timeout=_TRACKER_SHUTDOWN_TIMEOUT_S)
    except (ValueError, xgboost.core.XGBoostError) as error:
        # Reached when another host failed; that failure, not this one, is what the job reports.
        logger.warning("collective tracker did not shut down cleanly: %s", error)
    finally:
        tracker.free()


def _summary(error: BaseException) -> str:
    # XGBoost appends a native stack trace to its messages; it means nothing to the job's owner.
    return str(error).split("Stack trace:")[0].strip()


def _fail(container: Container, reason: str) -> int:
    failure = container.base_dir / "output" / "failure"
    failure.parent.mkdir(parents=True, exist_ok=True)
    failure.write_text(reason)
    print(reason, file=sys.stderr, flush=True)
    return 1


if __name__ == "__main__":
    sys.exit(main())
