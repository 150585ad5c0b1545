"""The CloudWatch metrics API (namespace ``monitoring``) over a ``MetricStore``."""
