"""Batch transform capability: run a model over stored objects and store one output per input, no AWS shapes.

A transform is "data source x splitter x batch strategy": ``sources`` lists the input objects and streams their
bytes (decompressed), ``splitters`` find record boundaries (None, Line, RecordIO, TFRecord), ``payloads`` cuts
each object into request bodies by the batch strategy (SingleRecord, MultiRecord within MaxPayloadInMB),
``data_processing`` applies InputFilter / JoinSource / OutputFilter (with ``jsonpath``) when asked, and
``instance`` keeps MaxConcurrentTransforms requests in flight on one replica while writing its outputs in
order. ``controller`` runs whole jobs: replicas started as endpoints start them (``serving.replica``), objects
shared among them, outputs stored whole or not at all. Nothing here imports ``sageforge.services`` or
``sageforge.aws``.
"""
