"""SageMaker ML instance types and what each would give a workload: vCPUs, memory, GPUs.

The scheduler uses the vCPU count to decide how many jobs fit on this machine at once. Figures are AWS's
published ones for the ``ml.*`` variants. Types not in the table (new families, new sizes) get an estimate from
their size suffix, so a valid request for a type this table has not caught up with still runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class InstanceResources:
    vcpus: int
    memory_gib: float
    gpus: int = 0


_R = InstanceResources

INSTANCE_TYPES: dict[str, InstanceResources] = {
    # Burstable general purpose.
    "ml.t3.medium": _R(2, 4),
    "ml.t3.large": _R(2, 8),
    "ml.t3.xlarge": _R(4, 16),
    "ml.t3.2xlarge": _R(8, 32),
    # General purpose.
    "ml.m4.xlarge": _R(4, 16),
    "ml.m4.2xlarge": _R(8, 32),
    "ml.m4.4xlarge": _R(16, 64),
    "ml.m4.10xlarge": _R(40, 160),
    "ml.m4.16xlarge": _R(64, 256),
    "ml.m5.large": _R(2, 8),
    "ml.m5.xlarge": _R(4, 16),
    "ml.m5.2xlarge": _R(8, 32),
    "ml.m5.4xlarge": _R(16, 64),
    "ml.m5.12xlarge": _R(48, 192),
    "ml.m5.24xlarge": _R(96, 384),
    # Compute optimised.
    "ml.c4.xlarge": _R(4, 7.5),
    "ml.c4.2xlarge": _R(8, 15),
    "ml.c4.4xlarge": _R(16, 30),
    "ml.c4.8xlarge": _R(36, 60),
    "ml.c5.large": _R(2, 4),
    "ml.c5.xlarge": _R(4, 8),
    "ml.c5.2xlarge": _R(8, 16),
    "ml.c5.4xlarge": _R(16, 32),
    "ml.c5.9xlarge": _R(36, 72),
    "ml.c5.18xlarge": _R(72, 144),
    # Memory optimised.
    "ml.r5.large": _R(2, 16),
    "ml.r5.xlarge": _R(4, 32),
    "ml.r5.2xlarge": _R(8, 64),
    "ml.r5.4xlarge": _R(16, 128),
    "ml.r5.12xlarge": _R(48, 384),
    "ml.r5.24xlarge": _R(96, 768),
    # Accelerated.
    "ml.p2.xlarge": _R(4, 61, 1),
    "ml.p2.8xlarge": _R(32, 488, 8),
    "ml.p2.16xlarge": _R(64, 732, 16),
    "ml.p3.2xlarge": _R(8, 61, 1),
    "ml.p3.8xlarge": _R(32, 244, 4),
    "ml.p3.16xlarge": _R(64, 488, 8),
    "ml.p3dn.24xlarge": _R(96, 768, 8),
    "ml.p4d.24xlarge": _R(96, 1152, 8),
    "ml.g4dn.xlarge": _R(4, 16, 1),
    "ml.g4dn.2xlarge": _R(8, 32, 1),
    "ml.g4dn.4xlarge": _R(16, 64, 1),
    "ml.g4dn.8xlarge": _R(32, 128, 1),
    "ml.g4dn.12xlarge": _R(48, 192, 4),
    "ml.g4dn.16xlarge": _R(64, 256, 1),
    "ml.g5.xlarge": _R(4, 16, 1),
    "ml.g5.2xlarge": _R(8, 32, 1),
    "ml.g5.4xlarge": _R(16, 64, 1),
    "ml.g5.8xlarge": _R(32, 128, 1),
    "ml.g5.12xlarge": _R(48, 192, 4),
    "ml.g5.16xlarge": _R(64, 256, 1),
    "ml.g5.24xlarge": _R(96, 384, 4),
    "ml.g5.48xlarge": _R(192, 768, 8),
}

# EC2 naming: "large" has 2 vCPUs, "xlarge" 4, "<n>xlarge" 4n; "medium" is a t-family size with 2.
_SIZE = re.compile(r"^(?:(\d+)?xlarge|large|medium)$")
_DEFAULT_VCPUS = 4
_GIB_PER_VCPU = 4.0  # the general-purpose ratio


def instance_resources(instance_type: str) -> InstanceResources:
    """Resources of ``instance_type``; an estimate from the size suffix for types not in the table."""
    known = INSTANCE_TYPES.get(instance_type)
    if known is not None:
        return known
    family, _, size = instance_type.removeprefix("ml.").partition(".")
    match = _SIZE.match(size)
    if match is None:
        vcpus = _DEFAULT_VCPUS
    elif size in ("large", "medium"):
        vcpus = 2
    else:
        vcpus = 4 * int(match.group(1) or 1)
    # p* and g* are the GPU families; assume at least one GPU when the count is unknown.
    gpus = 1 if family[:1] in ("p", "g") else 0
    return InstanceResources(vcpus, vcpus * _GIB_PER_VCPU, gpus)
