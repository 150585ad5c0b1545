"""A trained IP Insights model: entity vectors, the IP encoder, and the compatibility score of a pair.

The IP encoder starts from the sum of an address's prefix vectors (`encoding`) and applies
`num_ip_encoder_layers` dense layers of width `vector_dim`, with ReLU between them and none after the last
[INF]. A pair's `dot_product` is the entity vector's dot product with the encoded address: large for pairs
like those seen in training, around or below zero for unusual ones (reference B8); training reads it as the
logit of "this pair is real". The artifact (`first_party.artifact`) holds `entity_vectors`, `ip_vectors` and
`weight_<i>`/`bias_<i>` per layer, with metadata `vector_dim` and `num_ip_encoder_layers`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from sageforge.algorithms.first_party.artifact import ModelArtifact
from sageforge.algorithms.ipinsights.encoding import Indices, ip_rows

ALGORITHM = "ipinsights"
Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Encoded:
    """The IP encoder's activations for a batch: the input and each layer's output (pre-activations too)."""

    inputs: Array
    pre_activations: list[Array] = field(default_factory=list)
    outputs: list[Array] = field(default_factory=list)

    @property
    def final(self) -> Array:
        return self.outputs[-1] if self.outputs else self.inputs


@dataclass
class IpInsightsModel:
    entity_vectors: Array  # (num_entity_vectors, d)
    ip_vectors: Array  # (num_ip_vectors, d)
    weights: list[Array]  # per layer (d, d)
    biases: list[Array]  # per layer (d,)

    def encode_ips(self, rows: Indices) -> Encoded:
        """The encoder's pass over (n, 4) IP-table rows."""
        encoded = Encoded(self.ip_vectors[rows].sum(axis=1))
        hidden = encoded.inputs
        for index, (weight, bias) in enumerate(zip(self.weights, self.biases, strict=True)):
            pre_activation = hidden @ weight + bias
            hidden = pre_activation if index == len(self.weights) - 1 else np.maximum(pre_activation, 0.0)
            encoded.pre_activations.append(pre_activation)
            encoded.outputs.append(hidden)
        return encoded

    def embeddings(self, entities: Indices, addresses: npt.NDArray[np.uint32]) -> tuple[Array, Array]:
        """The entity and IP embeddings of each pair."""
        return self.entity_vectors[entities], self.encode_ips(ip_rows(addresses, self.ip_vectors.shape[0])).final

    def dot_products(self, entities: Indices, addresses: npt.NDArray[np.uint32]) -> Array:
        entity, ip = self.embeddings(entities, addresses)
        result: Array = np.sum(entity * ip, axis=1)
        return result

    def to_artifact(self) -> ModelArtifact:
        arrays = {"entity_vectors": self.entity_vectors, "ip_vectors": self.ip_vectors}
        for index, (weight, bias) in enumerate(zip(self.weights, self.biases, strict=True)):
            arrays[f"weight_{index}"], arrays[f"bias_{index}"] = weight, bias
        metadata = {"vector_dim": self.entity_vectors.shape[1], "num_ip_encoder_layers": len(self.weights)}
        return ModelArtifact(ALGORITHM, metadata, arrays)

    @classmethod
    def from_artifact(cls, artifact: ModelArtifact) -> IpInsightsModel:
        layers = int(artifact.metadata["num_ip_encoder_layers"])
        arrays = {name: np.asarray(array, dtype=np.float64) for name, array in artifact.arrays.items()}
        model = cls(
            arrays["entity_vectors"],
            arrays["ip_vectors"],
            [arrays[f"weight_{index}"] for index in range(layers)],
            [arrays[f"bias_{index}"] for index in range(layers)],
        )
        dim = model.entity_vectors.shape[1]
        if model.ip_vectors.shape[1] != dim or any(weight.shape != (dim, dim) for weight in model.weights):
            raise ValueError("the model's arrays do not share one vector_dim")
        return model
