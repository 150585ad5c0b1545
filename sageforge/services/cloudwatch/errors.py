"""The error codes CloudWatch answers metric requests with (its query-era codes, on every protocol)."""

from __future__ import annotations

from sageforge.aws.errors import AwsError


class InvalidParameterValue(AwsError):
    code = "InvalidParameterValue"


class InvalidParameterCombination(AwsError):
    code = "InvalidParameterCombination"


class MissingParameter(AwsError):
    code = "MissingParameter"


class InvalidNextToken(AwsError):
    code = "InvalidNextToken"


class ValidationError(AwsError):
    code = "ValidationError"
