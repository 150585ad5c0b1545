"""Hyperparameter search, pure: SageMaker's ranges as search spaces, strategies behind ask/report/tell
(``strategy.py``), early-stopping rules and completion criteria. Nothing here knows of requests, records or
training jobs; the tuning-job manager drives it."""
