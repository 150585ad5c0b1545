"""sageforge: a self-hosted machine-learning platform that speaks Amazon SageMaker's API."""

__version__ = "0.1.0"
