"""IAM API: just enough for the SageMaker SDK to resolve role names and its own execution role.

``GetRole`` answers for any role name, so ``expand_role("MyRole")`` and ``get_execution_role()`` turn names
into ARNs (``arn:aws:iam::<account>:role/<name>``). sageforge runs every workload with the server's own
permissions; roles are names that jobs and models carry, never checked.

LIMITATIONS (where sageforge differs from IAM):
- Every role exists, at path ``/``, trusting ``sagemaker.amazonaws.com``; its CreateDate is the time the
  server started. No other IAM operation is implemented (CreateRole, policies, users, ...).
- Role IDs are derived from the role name, so they are stable across restarts and servers.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from sageforge.aws.context import RequestContext
from sageforge.aws.dispatch import operation

# The trust policy of every role: SageMaker may assume it.
_TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def role_arn(account_id: str, name: str) -> str:
    return f"arn:aws:iam::{account_id}:role/{name}"


def role_id(name: str) -> str:
    """A role ID shaped like AWS's (``AROA`` + 17 characters), the same for the same name."""
    digest = base64.b32encode(hashlib.sha256(name.encode()).digest()).decode()
    return "AROA" + digest[:17]


class IamProvider:
    """The IAM operations; ``started`` is the CreateDate every role reports."""

    def __init__(self, started: datetime | None = None) -> None:
        self._created = (started or datetime.now(UTC)).replace(microsecond=0)

    @operation("GetRole")
    def get_role(self, context: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["RoleName"]
        return {
            "Role": {
                "Path": "/",
                "RoleName": name,
                "RoleId": role_id(name),
                "Arn": role_arn(context.account_id, name),
                "CreateDate": self._created,
                # IAM returns policy documents URL-encoded; botocore decodes them back to JSON.
                "AssumeRolePolicyDocument": quote(json.dumps(_TRUST_POLICY, separators=(",", ":")), safe=""),
                "MaxSessionDuration": 3600,
                "RoleLastUsed": {},
            }
        }
