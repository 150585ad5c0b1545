"""One typed settings object. Every field can come from a ``SAGEFORGE_<FIELD>`` environment variable or
the matching ``sageforge serve`` flag (flags win)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Settings:
    # Address the server listens on.
    host: str = "127.0.0.1"
    port: int = 8686
    # Where objects, the SQLite database and job working directories live.
    data_dir: Path = field(default_factory=lambda: Path.home() / ".sageforge")
    # SQLAlchemy URL of the metadata database; empty means a SQLite file in data_dir.
    database_url: str = ""
    # Engine backend that runs workloads ("local": one OS process per instance; "ray": on a Ray cluster).
    backend: str = "local"
    # The Ray backend's cluster (host:port of its GCS; empty: a new local Ray instance), and a JSON file
    # overriding what each instance type asks Ray for (engine/backends/ray_resources.py).
    ray_address: str = ""
    ray_instance_types: str = ""
    # Where objects live: "" for files under data_dir, "s3://" for a remote S3-compatible store that every
    # node can reach (endpoint URL, region and credentials below; empty ones mean boto3's defaults).
    object_store: str = ""
    object_store_endpoint_url: str = ""
    object_store_region: str = ""
    object_store_access_key: str = ""
    object_store_secret_key: str = ""
    # Account every request is attributed to, and the credentials accepted (SigV4 access key / secret).
    account_id: str = "000000000000"
    access_key: str = "test"
    secret_key: str = "test"
    # Seconds a stopped training instance gets between SIGTERM and SIGKILL (SageMaker gives 120).
    stop_grace_seconds: float = 120.0
    # Python logging level of the server.
    log_level: str = "INFO"

    def __post_init__(self) -> None:
        # Absolute, because every instance and replica runs in a directory of its own beneath it and is told
        # its /opt/ml by path (SAGEMAKER_BASE_DIR): a relative one would resolve inside that directory.
        object.__setattr__(self, "data_dir", self.data_dir.expanduser().absolute())

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'sageforge.db'}"

    @property
    def python_environments(self) -> Path:
        """Where script mode's requirements.txt environments are cached, for training jobs and replicas alike."""
        return self.data_dir / "python-environments"

    @property
    def endpoint_url(self) -> str:
        """The URL workloads use to reach this server's APIs."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{host}:{self.port}"

    def backend_options(self) -> dict[str, Any]:
        """Keyword options for ``create_backend(self.backend, ...)``."""
        if self.backend == "ray":
            return {"address": self.ray_address or None, "instance_types": self.ray_instance_types or None}
        return {}

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then ``SAGEFORGE_*`` variables, then explicit overrides that are not None."""
        environ = dict(os.environ if environ is None else environ)
        values: dict[str, Any] = {}
        for item in fields(cls):
            raw = environ.get(f"SAGEFORGE_{item.name.upper()}")
            if raw is not None:
                values[item.name] = _convert(item.name, raw)
        values.update({k: _convert(k, v) if isinstance(v, str) else v for k, v in overrides.items() if v is not None})
        return replace(cls(), **values)


def _convert(name: str, raw: str) -> Any:
    kind = {f.name: f.type for f in fields(Settings)}[name]
    if kind == "int":
        return int(raw)
    if kind == "float":
        return float(raw)
    if kind == "Path":
        return Path(raw).expanduser()
    return raw
