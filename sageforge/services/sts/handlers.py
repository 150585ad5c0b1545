"""STS API: who the caller is, as the SageMaker SDK needs to find its execution role.

``GetCallerIdentity`` answers as an assumed role, ``arn:aws:sts::<account>:assumed-role/SageForgeRole/<session>``
with the access key as the session name, so ``sagemaker.get_execution_role()`` maps it to
``arn:aws:iam::<account>:role/SageForgeRole`` and confirms it with IAM ``GetRole``.

LIMITATIONS (where sageforge differs from STS):
- Every access key is the same role, ``SageForgeRole``, of the server's account.
- AssumeRole and the other credential-issuing operations are not implemented: the server accepts only the
  credentials it is configured with, so temporary keys could not be used.
"""

from __future__ import annotations

from typing import Any

from sageforge.aws.context import RequestContext
from sageforge.aws.dispatch import operation
from sageforge.services.iam.handlers import role_id

ROLE_NAME = "SageForgeRole"


class StsProvider:
    """The STS operations."""

    @operation("GetCallerIdentity")
    def get_caller_identity(self, context: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        session = context.access_key
        return {
            "UserId": f"{role_id(ROLE_NAME)}:{session}",
            "Account": context.account_id,
            "Arn": f"arn:aws:sts::{context.account_id}:assumed-role/{ROLE_NAME}/{session}",
        }
