"""A scikit-learn script as a SageMaker user writes one: trained by `SKLearn(entry_point=...).fit`, served by the
same file's `model_fn` (the toolkit's default handlers decode and encode the requests).

`sageforge demo` uploads it as written; it is user code, run inside a training instance and a replica, not a
module of sageforge.
"""

import argparse
import os

import joblib
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler


def model_fn(model_dir: str) -> Pipeline:
    model: Pipeline = joblib.load(os.path.join(model_dir, "model.joblib"))
    return model


def _rows(channel_dir: str) -> np.ndarray:
    return np.vstack([np.loadtxt(os.path.join(channel_dir, name), delimiter=",") for name in os.listdir(channel_dir)])


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--inverse_regularization", type=float, default=1.0)
    parser.add_argument("--train", default=os.environ.get("SM_CHANNEL_TRAIN"))
    parser.add_argument("--validation", default=os.environ.get("SM_CHANNEL_VALIDATION"))
    parser.add_argument("--model-dir", default=os.environ.get("SM_MODEL_DIR"))
    args = parser.parse_args()

    train, validation = _rows(args.train), _rows(args.validation)
    model = make_pipeline(StandardScaler(), LogisticRegression(C=args.inverse_regularization, max_iter=1000))
    model.fit(train[:, 1:], train[:, 0])
    # A metric_definitions regex reads this line into the job's metrics.
    print(f"validation accuracy: {model.score(validation[:, 1:], validation[:, 0]):.4f}")
    joblib.dump(model, os.path.join(args.model_dir, "model.joblib"))
