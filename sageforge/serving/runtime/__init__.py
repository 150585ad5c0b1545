"""The program inside a replica: ``python -m sageforge.serving.runtime``.

It speaks SageMaker's inference container contract -- ``GET /ping``, ``POST /invocations`` and
``GET /execution-parameters`` on ``$SAGEMAKER_BIND_TO_PORT`` -- around an inference module (``contract``)
that loads the model from ``$SAGEMAKER_BASE_DIR/model`` and answers invocations. It imports only the
standard library and the inference module, so a replica starts quickly and carries nothing of the server.
"""
