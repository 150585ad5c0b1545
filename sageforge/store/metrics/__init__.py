"""Metric storage: CloudWatch-style metrics (namespace, name, dimensions) and their datapoints."""
