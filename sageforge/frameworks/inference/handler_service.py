"""The inference module a script-mode replica runs (``SAGEFORGE_INFERENCE_MODULE``): the toolkit's transformer.

``model_fn`` imports the user's script (``user_code``), binds each handler it defines -- or the framework's
default (``defaults``) -- and loads the model; the runtime keeps the resulting ``Service`` as its model and
hands it every request through ``transform_fn``. As in the toolkit:

- ``transform_fn`` in the script replaces ``input_fn``/``predict_fn``/``output_fn``; defining both is a load
  failure;
- a handler declaring one parameter more than its base form is passed a ``context.Context`` last;
- JSON and CSV bodies reach ``input_fn`` as text, others as bytes; an Accept of ``*/*`` or none means
  ``SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT`` (default ``application/json``);
- a handler's answer is the body (bytes, or text sent as UTF-8) in the accepted type, or a ``(body,
  content_type)`` pair.

``SAGEFORGE_FRAMEWORK`` (set by the control plane from the image) picks the defaults. A ``requirements.txt`` beside
the script is installed first (``requirements``).
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from sageforge.frameworks.inference import codecs, user_code
from sageforge.frameworks.inference.context import Context
from sageforge.frameworks.inference.defaults import framework_handlers
from sageforge.frameworks.inference.requirements import run_in_requirements_environment

_TRIO = ("input_fn", "predict_fn", "output_fn")


@dataclass(frozen=True)
class _Handler:
    """A handler and whether it takes the trailing ``context``."""

    function: Callable[..., Any]
    takes_context: bool

    def __call__(self, *args: Any, context: Context) -> Any:
        return self.function(*args, context) if self.takes_context else self.function(*args)


def _handler(
    module: ModuleType | None, name: str, base_arity: int, default: Callable[..., Any] | None
) -> _Handler | None:
    function = getattr(module, name, None) if module is not None else None
    if function is None:
        return None if default is None else _Handler(default, False)
    return _Handler(function, len(inspect.signature(function).parameters) > base_arity)


@dataclass(frozen=True)
class Service:
    """The loaded model and the handlers that serve it."""

    model: Any
    model_name: str
    model_dir: str
    default_accept: str
    input_fn: _Handler | None
    predict_fn: _Handler | None
    output_fn: _Handler | None
    transform_fn: _Handler | None

    @classmethod
    def load(cls, model_dir: str, environment: Mapping[str, str]) -> Service:
        default_accept = environment.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT") or codecs.JSON
        defaults = framework_handlers(environment.get("SAGEFORGE_FRAMEWORK", ""), default_accept)
        module = user_code.import_user_module(user_code.code_directory(Path(model_dir), environment), environment)
        transform_fn = _handler(module, "transform_fn", 4, None)
        if transform_fn is not None and any(getattr(module, name, None) is not None for name in _TRIO):
            raise ValueError(
                "Cannot use transform_fn implementation in conjunction with input_fn, predict_fn, and/or output_fn "
                "implementation"
            )
        model_name = environment.get("SAGEMAKER_PROGRAM", user_code.DEFAULT_PROGRAM).removesuffix(".py")
        model_fn = _handler(module, "model_fn", 1, defaults.model_fn)
        assert model_fn is not None
        model = model_fn(model_dir, context=Context(model_name, model_dir))
        return cls(
            model=model,
            model_name=model_name,
            model_dir=model_dir,
            default_accept=default_accept,
            input_fn=None if transform_fn else _handler(module, "input_fn", 2, defaults.input_fn),
            predict_fn=None if transform_fn else _handler(module, "predict_fn", 2, defaults.predict_fn),
            output_fn=None if transform_fn else _handler(module, "output_fn", 2, defaults.output_fn),
            transform_fn=transform_fn,
        )

    def transform(self, body: bytes, content_type: str, accept: str) -> tuple[bytes, str]:
        headers = {"Content-Type": content_type, "Accept": accept}
        context = Context(self.model_name, self.model_dir, {k: v for k, v in headers.items() if v})
        if not accept or codecs.media_type(accept) == "*/*":
            accept = self.default_accept
        data: bytes | str = body.decode("utf-8") if codecs.media_type(content_type) in codecs.UTF8_TYPES else body
        if self.transform_fn is not None:
            result = self.transform_fn(self.model, data, content_type, accept, context=context)
        else:
            assert self.input_fn is not None and self.predict_fn is not None and self.output_fn is not None
            decoded = self.input_fn(data, content_type, context=context)
            prediction = self.predict_fn(decoded, self.model, context=context)
            result = self.output_fn(prediction, accept, context=context)
        return _response(result, accept)


def _response(result: Any, accept: str) -> tuple[bytes, str]:
    body, content_type = result if isinstance(result, tuple) else (result, accept)
    if isinstance(body, str):
        body = body.encode("utf-8")
    if not isinstance(body, (bytes, bytearray, memoryview)):
        raise TypeError(
            f"the inference handlers answered a {type(body).__name__}; output_fn or transform_fn must return the "
            "response body (bytes or str), or a (body, content_type) pair"
        )
    return bytes(body), str(content_type)


# --- the runtime's inference module contract (``sageforge.serving.runtime.contract``) -------------------------


def model_fn(model_dir: str) -> Service:
    run_in_requirements_environment(user_code.code_directory(Path(model_dir), os.environ), os.environ)
    return Service.load(model_dir, os.environ)


def transform_fn(model: Service, body: bytes, content_type: str, accept: str) -> tuple[bytes, str]:
    return model.transform(body, content_type, accept)
