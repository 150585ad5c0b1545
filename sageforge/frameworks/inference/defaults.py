"""The framework containers' default handlers, used for whatever the user's script does not define.

- ``model_fn``: scikit-learn has none (the toolkit's message asks for one); PyTorch loads a TorchScript
  ``model.pt``; XGBoost loads the booster file ``xgboost-model``.
- ``input_fn``: the body decoded (``codecs``), JSON and CSV as float32; PyTorch makes it a tensor, XGBoost a
  ``DMatrix``.
- ``predict_fn``: ``model(data)`` under ``torch.no_grad()`` for PyTorch, ``model.predict(data)`` otherwise.
- ``output_fn``: tensors to arrays, then encoded in the type the Accept header asks for (406 for one the
  encoders cannot write).

Frameworks are imported only when their handler runs, so a replica imports nothing it does not use.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import numpy as np

from sageforge.frameworks.inference import codecs

NO_MODEL_FN = (
    "Please provide a model_fn implementation. See documentation for model_fn at "
    "https://sagemaker.readthedocs.io/en/stable/"
)
TORCHSCRIPT_FILE = "model.pt"
XGBOOST_FILE = "xgboost-model"


class DefaultHandlers:
    """The defaults every framework container shares (scikit-learn's, and the base of the others)."""

    def __init__(self, default_accept: str) -> None:
        self.default_accept = default_accept

    def model_fn(self, model_dir: str) -> Any:
        raise NotImplementedError(NO_MODEL_FN)

    def input_fn(self, body: bytes | str, content_type: str) -> Any:
        raw = body.encode() if isinstance(body, str) else body
        array = codecs.decode(raw, content_type)
        return array.astype(np.float32) if codecs.media_type(content_type) in codecs.UTF8_TYPES else array

    def predict_fn(self, data: Any, model: Any) -> Any:
        return model.predict(data)

    def output_fn(self, prediction: Any, accept: str) -> tuple[bytes, str]:
        response_type = codecs.negotiate(accept, self.default_accept)
        return codecs.encode(prediction, response_type), response_type


class PyTorchHandlers(DefaultHandlers):
    def model_fn(self, model_dir: str) -> Any:
        path = Path(model_dir) / TORCHSCRIPT_FILE
        if not path.is_file():
            raise FileNotFoundError(f"Failed to load model with default model_fn: missing file {TORCHSCRIPT_FILE}.")
        torch = importlib.import_module("torch")
        return torch.jit.load(str(path), map_location="cpu").eval()

    def input_fn(self, body: bytes | str, content_type: str) -> Any:
        torch = importlib.import_module("torch")
        return torch.from_numpy(np.ascontiguousarray(super().input_fn(body, content_type)))

    def predict_fn(self, data: Any, model: Any) -> Any:
        torch = importlib.import_module("torch")
        if hasattr(model, "eval"):
            model.eval()
        with torch.no_grad():
            return model(data)

    def output_fn(self, prediction: Any, accept: str) -> tuple[bytes, str]:
        if hasattr(prediction, "detach"):
            prediction = prediction.detach().cpu().numpy()
        return super().output_fn(prediction, accept)


class XGBoostHandlers(DefaultHandlers):
    def model_fn(self, model_dir: str) -> Any:
        path = Path(model_dir) / XGBOOST_FILE
        if not path.is_file():
            raise FileNotFoundError(f"Failed to load model with default model_fn: missing file {XGBOOST_FILE}.")
        xgboost = importlib.import_module("xgboost")
        return xgboost.Booster(model_file=str(path))

    def input_fn(self, body: bytes | str, content_type: str) -> Any:
        xgboost = importlib.import_module("xgboost")
        return xgboost.DMatrix(super().input_fn(body, content_type))


def framework_handlers(framework: str, default_accept: str) -> DefaultHandlers:
    """The defaults of the framework named as ``images.Framework.name`` (``sklearn``, ``pytorch``, ...)."""
    kind = {"pytorch": PyTorchHandlers, "xgboost": XGBoostHandlers}.get(framework, DefaultHandlers)
    return kind(default_accept)
