"""Object storage: buckets and objects, behind the ``ObjectStore`` protocol."""
