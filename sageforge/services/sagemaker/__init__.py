"""SageMaker API providers, one package per resource family."""
