"""Run by the mlflow environment's Python, not sageforge's (``bench/mlflow_serve.py`` creates that environment):
save the invoke benchmark's booster as an mlflow XGBoost model, with the signature an mlflow user logs --
the columns of the ``dataframe_split`` request the benchmark sends.

``python bench/mlflow_model.py MODEL_FILE MODEL_DIR REQUEST_JSON``
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import mlflow.xgboost
import pandas as pd
import xgboost
from mlflow.models import infer_signature


def save(model_file: str, model_dir: str, request_file: str) -> None:
    booster = xgboost.Booster(model_file=model_file)
    split = json.loads(Path(request_file).read_text())["dataframe_split"]
    frame = pd.DataFrame(split["data"], columns=split["columns"])
    signature = infer_signature(frame, booster.predict(xgboost.DMatrix(frame)))
    mlflow.xgboost.save_model(booster, model_dir, signature=signature, model_format="ubj")


if __name__ == "__main__":
    save(*sys.argv[1:4])
