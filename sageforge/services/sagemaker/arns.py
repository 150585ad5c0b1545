"""SageMaker ARNs: ``arn:aws:sagemaker:<region>:<account>:<resource-type>/<name>`` with the name lower-cased,
as SageMaker writes them."""

from __future__ import annotations


def resource_arn(region: str, account: str, resource_type: str, name: str) -> str:
    return f"arn:aws:sagemaker:{region}:{account}:{resource_type}/{name.lower()}"
