"""Opaque pagination tokens: a small JSON state, base64-encoded, rejected with a clear error if tampered."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from sageforge.aws.errors import ValidationException


def encode_token(state: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":")).encode()).decode()


def decode_token(token: str, error: type[Exception] = ValidationException) -> dict[str, Any]:
    try:
        state = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise error("The pagination token is invalid.") from exc
    if not isinstance(state, dict):
        raise error("The pagination token is invalid.")
    return state
