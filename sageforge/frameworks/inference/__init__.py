"""Script-mode inference: the SageMaker framework containers' serving contract (the inference toolkit's
``model_fn`` / ``input_fn`` / ``predict_fn`` / ``output_fn`` or ``transform_fn``) around the user's own code, as an
inference module the replica runtime loads (``handler_service``)."""
