"""The wire layer: speaks AWS protocols and knows nothing of SageMaker semantics."""
