"""The ``context`` the inference toolkit passes to handlers that take one more argument than their base form.

sagemaker-inference hands model server (MMS/TorchServe) contexts to ``model_fn``, ``input_fn``, ``predict_fn``,
``output_fn`` and ``transform_fn``; user code reads ``system_properties`` (``model_dir``, ``gpu_id``) and the
request's headers through ``request_processor[0]`` or ``get_request_header``. This is that surface, filled with
what a replica knows: the headers it passes are Content-Type and Accept.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class RequestProcessor:
    """One request's headers, looked up without regard to case."""

    def __init__(self, headers: Mapping[str, str]) -> None:
        self._headers = dict(headers)

    def get_request_properties(self) -> dict[str, str]:
        return dict(self._headers)

    def get_request_property(self, key: str) -> str | None:
        wanted = key.lower()
        return next((value for name, value in self._headers.items() if name.lower() == wanted), None)


class Context:
    """What handlers taking a ``context`` get: one per request (and one for ``model_fn``, without headers)."""

    def __init__(self, model_name: str, model_dir: str, headers: Mapping[str, str] | None = None) -> None:
        self.model_name = model_name
        self.system_properties: dict[str, Any] = {
            "model_dir": model_dir,
            "gpu_id": None,  # replicas run on CPU
            "batch_size": 1,
            "server_name": "sageforge",
        }
        self.request_processor = [RequestProcessor(headers or {})]

    def get_request_header(self, idx: int, key: str) -> str | None:
        return self.request_processor[idx].get_request_property(key)

    def get_all_request_header(self, idx: int) -> dict[str, str]:
        return self.request_processor[idx].get_request_properties()
