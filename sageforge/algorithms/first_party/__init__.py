"""The framework SageMaker's first-party (1P) tabular algorithms share: Linear Learner, K-Means, PCA, k-NN,
Factorization Machines, Random Cut Forest, IP Insights.

Server side (standard library only): `metric_definitions` builds the `#quality_metric` regexes an algorithm's
`BuiltinAlgorithm` declaration registers. In the container: `container` (the `/opt/ml` layout, the
ClientError/AlgorithmError failure contract), `channels` (a channel's content type and its rows, from CSV or
RecordIO-protobuf), `log_lines` (the `#quality_metric`/`#progress_metric`/`#throughput_metric` lines),
`artifact` (the `model_algo-1` file). In a replica: `request_bodies` (request bodies to a feature matrix)
and `response_bodies` (an algorithm's per-row outputs, encoded by Accept).
"""
