"""A stand-in inference module for the serving tests: starts in milliseconds and does what the body says.

The model directory's ``name`` file is the model (its text names the fleet in every answer); a ``broken`` file
makes loading fail. Bodies: ``pid`` (the replica's process id), ``sleep:<s>`` (answer after a while),
``status:<code>`` (fail with that status), anything else is echoed after the model's name.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from sageforge.serving.runtime.contract import InferenceError


def model_fn(model_dir: str) -> str:
    directory = Path(model_dir)
    if (directory / "broken").exists():
        raise ValueError("this model is broken on purpose")
    return (directory / "name").read_text().strip()


def transform_fn(model: str, body: bytes, content_type: str, accept: str) -> tuple[bytes, str]:
    text = body.decode()
    if text == "pid":
        return str(os.getpid()).encode(), "text/plain"
    if text.startswith("sleep:"):
        time.sleep(float(text.split(":", 1)[1]))
    elif text.startswith("status:"):
        raise InferenceError(int(text.split(":", 1)[1]), "failing as asked")
    return f"{model}:{text}".encode(), accept or "text/plain"
