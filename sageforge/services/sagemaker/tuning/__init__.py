"""SageMaker hyperparameter tuning jobs: handlers, the manager with its tuning loops, and the records."""
