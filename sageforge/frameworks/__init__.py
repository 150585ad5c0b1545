"""Script mode: the SageMaker framework containers' contract (sklearn, PyTorch, XGBoost framework mode, ...)
run with users' own training scripts and inference handlers, in a Python environment that has the framework."""
