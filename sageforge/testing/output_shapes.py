"""Check every successful response a boto3 client receives against the botocore output shape."""

from __future__ import annotations

from typing import Any

from botocore.model import OperationModel

from sageforge.aws.validation import validate


def check_output_shapes(client: Any) -> Any:
    """``client``, made to fail any call whose response breaks its output shape (required members, types)."""

    def check(http_response: Any, parsed: dict[str, Any], model: OperationModel, **_: Any) -> None:
        if http_response.status_code < 300 and model.output_shape is not None:
            body = {key: value for key, value in parsed.items() if key != "ResponseMetadata"}
            problems = validate(body, model.output_shape)
            assert not problems, f"{model.name} response breaks its output shape: {problems}"

    # First, before botocore's own after-call customizations (IAM's policy decoding) reshape the response.
    service_id = client.meta.service_model.service_id.hyphenize()
    client.meta.events.register_first(f"after-call.{service_id}", check)
    return client
