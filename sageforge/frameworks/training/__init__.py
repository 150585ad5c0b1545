"""Script mode's training toolkit: what a SageMaker framework container runs as its ``train`` program.

``python -m sageforge.frameworks.training`` in an instance directory (``SAGEMAKER_BASE_DIR``) computes the
``SM_*`` environment (``environment``), installs ``code/requirements.txt`` into a cached environment
(``requirements``), runs the entry point named by ``sagemaker_program`` from ``code/`` (``entry_point``) and, when
it fails, writes ``output/failure`` as sagemaker-training-toolkit does (``errors``). The engine has extracted
``sagemaker_submit_directory`` into ``code/`` before start: the toolkit never reads S3.
"""
