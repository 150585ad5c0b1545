"""What an inference module provides to the runtime, in the SageMaker inference toolkit's terms.

A module named by ``$SAGEFORGE_INFERENCE_MODULE`` defines ``model_fn(model_dir)``, which loads the model once
at start (any exception fails the replica's start, with the message in its log), and
``transform_fn(model, body, content_type, accept)``, which returns the response body and its content type.
Bad requests raise ``InferenceError`` with the HTTP status the container answers; anything else is a 500.
An empty request body is answered 204 by the server without reaching the module, as the built-ins do.
"""

from __future__ import annotations

from typing import Any, Protocol

# The response header naming the container of an inference pipeline that answered an error (``origin``).
ORIGIN_HEADER = "X-Sageforge-Container"


class InferenceError(Exception):
    """A request the model cannot answer: ``status`` is the HTTP status (400, 406, 415, ...); ``origin`` names the
    container of an inference pipeline that answered it (sent back as ``ORIGIN_HEADER``)."""

    def __init__(self, status: int, message: str, origin: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.origin = origin


class InferenceModule(Protocol):
    def model_fn(self, model_dir: str) -> Any: ...

    def transform_fn(self, model: Any, body: bytes, content_type: str, accept: str) -> tuple[bytes, str]: ...
