"""Storage behind small interfaces: metadata records, objects, logs."""
