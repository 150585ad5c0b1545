"""Entry point of a replica: load the model, then serve until SIGTERM.

Environment: ``SAGEFORGE_INFERENCE_MODULE`` (the module implementing ``contract.InferenceModule``),
``SAGEMAKER_BASE_DIR`` (default ``/opt/ml``; the model is in its ``model/``), ``SAGEMAKER_BIND_TO_PORT``
(default 8080) and ``MAX_CONTENT_LENGTH`` (bytes, default 6 MiB). The port is opened only once the model
has loaded, so a passing ``/ping`` means the replica can answer; a model that does not load ends the process
with status 1 and the reason as the last line of stderr.
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
import threading
import traceback
from pathlib import Path
from types import FrameType
from typing import cast

if __name__ == "__main__" and os.environ.get("SAGEFORGE_INFERENCE_MODULE", "").startswith("sageforge.algorithms."):
    # xgboost imports scikit-learn, when installed, only for its estimator wrappers; a built-in's replica predicts
    # with the core API, and skipping that import takes about a second off its start. (Script mode's user code
    # may well use scikit-learn.)
    sys.modules.setdefault("sklearn", None)  # type: ignore[arg-type]

from sageforge.serving.runtime.contract import InferenceModule  # noqa: E402
from sageforge.serving.runtime.server import DEFAULT_MAX_CONTENT_LENGTH, InferenceServer  # noqa: E402


def main() -> int:
    module_name = os.environ.get("SAGEFORGE_INFERENCE_MODULE", "")
    model_dir = Path(os.environ.get("SAGEMAKER_BASE_DIR", "/opt/ml")) / "model"
    port = int(os.environ.get("SAGEMAKER_BIND_TO_PORT", "8080"))
    # The replica's address on its machine (a cluster node's, for the Ray backend); loopback by default.
    address = os.environ.get("SAGEFORGE_BIND_ADDRESS", "127.0.0.1")
    max_content_length = int(os.environ.get("MAX_CONTENT_LENGTH", str(DEFAULT_MAX_CONTENT_LENGTH)))
    try:
        module = cast(InferenceModule, importlib.import_module(module_name))
        print(f"loading the model from {model_dir} with {module_name}", flush=True)
        model = module.model_fn(str(model_dir))
    except Exception as error:  # the reason must reach the log as its last line, whatever failed
        traceback.print_exc(file=sys.stderr)
        print(f"Unable to load model: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
        return 1
    server = InferenceServer(port, module, model, max_content_length, address)

    def stop(signum: int, frame: FrameType | None) -> None:
        # shutdown() waits for serve_forever(), which runs on this (the main) thread: ask from another.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    print(f"serving on {address}:{port}", flush=True)
    with server:
        server.serve_forever(poll_interval=0.2)
    print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
