"""The training engine: runs a workload under the SageMaker container contract, with no AWS shapes.

``TrainingEngine`` (in ``training``) takes a ``TrainingWorkload`` (in ``workload``), stages its channels from the
object store into an ``/opt/ml``-like directory per instance, runs each instance through a ``Backend``, streams
output to the log store, turns log lines into metrics, uploads the model and reports to a ``TrainingListener``.
It never imports ``sageforge.services`` or ``sageforge.aws``.
"""
