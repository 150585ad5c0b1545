"""Built-in SageMaker algorithms behind one interface; `registry` maps image URIs to them."""
