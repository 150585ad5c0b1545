"""Which SageMaker image URIs are built-in algorithms, and which version of them.

SageMaker publishes each built-in from per-region accounts
(`<account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>:<tag>`), so an image is recognised by its
repository name and tag alone, in any region and account, with or without the registry part. Adding a
built-in is one entry in `_REPOSITORIES` (and a case in `tests/algorithms/test_conformance.py`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from sageforge.algorithms.base import BuiltinAlgorithm
from sageforge.algorithms.factorization_machines import FACTORIZATION_MACHINES
from sageforge.algorithms.ipinsights import IP_INSIGHTS
from sageforge.algorithms.kmeans import KMEANS
from sageforge.algorithms.knn import KNN
from sageforge.algorithms.linear_learner import LINEAR_LEARNER
from sageforge.algorithms.pca import PCA
from sageforge.algorithms.randomcutforest import RANDOM_CUT_FOREST
from sageforge.algorithms.xgboost import XGBOOST


@dataclass(frozen=True)
class ResolvedImage:
    """A built-in algorithm and the version its image tag names (e.g. "1.7-1"; "1" for `xgboost:latest`)."""

    algorithm: BuiltinAlgorithm
    version: str


@dataclass(frozen=True)
class ImageRepository:
    """A repository of built-in images: the versions it publishes, and what `latest` stands for.

    A tag matches a version exactly or with a suffix after a dash (`1.7-1-cpu-py3` is version `1.7-1`).
    """

    algorithm: BuiltinAlgorithm
    versions: tuple[str, ...]
    latest: str | None = None

    def version_of(self, tag: str) -> str | None:
        """The version `tag` names, or None when this repository publishes no such tag."""
        if tag == "latest":
            return self.latest
        # Longest first, so a version that prefixes another ("1" vs "1.0-1") cannot shadow it.
        for version in sorted(self.versions, key=len, reverse=True):
            if tag == version or tag.startswith(f"{version}-"):
                return version
        return None


_REPOSITORIES: Mapping[str, ImageRepository] = MappingProxyType(
    {
        "sagemaker-xgboost": ImageRepository(
            XGBOOST, ("0.90-1", "0.90-2", "1.0-1", "1.2-1", "1.2-2", "1.3-1", "1.5-1", "1.7-1", "3.0-5")
        ),
        # The first-generation image (XGBoost 0.72).
        "xgboost": ImageRepository(XGBOOST, ("1",), latest="1"),
        "linear-learner": ImageRepository(LINEAR_LEARNER, ("1",), latest="1"),
        "factorization-machines": ImageRepository(FACTORIZATION_MACHINES, ("1",), latest="1"),
        "ipinsights": ImageRepository(IP_INSIGHTS, ("1",), latest="1"),
        "knn": ImageRepository(KNN, ("1",), latest="1"),
        "randomcutforest": ImageRepository(RANDOM_CUT_FOREST, ("1",), latest="1"),
        "kmeans": ImageRepository(KMEANS, ("1",), latest="1"),
        "pca": ImageRepository(PCA, ("1",), latest="1"),
    }
)

_IMAGE_URI = re.compile(
    r"(?:[0-9]{12}\.dkr\.ecr(?:-fips)?\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?/)?"
    r"(?P<repository>[a-z0-9][a-z0-9._/-]*):(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})"
)


def resolve(image_uri: str) -> ResolvedImage | None:
    """The built-in algorithm `image_uri` names, or None for any other image (e.g. a script container)."""
    match = _IMAGE_URI.fullmatch(image_uri.strip())
    if match is None:
        return None
    repository = _REPOSITORIES.get(match["repository"])
    if repository is None:
        return None
    version = repository.version_of(match["tag"])
    return None if version is None else ResolvedImage(repository.algorithm, version)


def builtin_algorithms() -> tuple[BuiltinAlgorithm, ...]:
    """Every built-in some image names, once each, in the order of `_REPOSITORIES`."""
    return tuple({repository.algorithm.name: repository.algorithm for repository in _REPOSITORIES.values()}.values())
