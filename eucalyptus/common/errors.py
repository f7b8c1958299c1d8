"""One typed hierarchy of errors.

Every error that may reach a user carries its AWS code and HTTP status. The same
failure is spelled differently by the API families (a bad signature is
``AuthFailure`` in EC2 and ``SignatureDoesNotMatch`` in IAM and S3), so an error
may name per-family overrides; each family's renderer asks :meth:`AwsError.code_for`.
Internal errors never reach the wire as stack traces: anything that is not an
``AwsError`` is rendered as ``InternalError``/500 by the API layer.
"""

from __future__ import annotations

from typing import ClassVar, Literal

ApiFamily = Literal["ec2", "iam", "s3", "soap"]


class EucalyptusError(Exception):
    """Base of every error raised on purpose by this package."""


class ConfigError(EucalyptusError):
    """A configuration file or value is wrong; the message names key, file and line."""


class AwsError(EucalyptusError):
    """An error with an AWS error code and HTTP status."""

    code: ClassVar[str] = "InternalError"
    status: ClassVar[int] = 500
    #: per-family spellings of the same failure, e.g. {"ec2": ("AuthFailure", 401)}
    family_codes: ClassVar[dict[str, tuple[str, int]]] = {}
    default_message: ClassVar[str] = ""

    def __init__(self, message: str = "", **extra: str) -> None:
        super().__init__(message or self.default_message or self.code)
        self.message = message or self.default_message or self.code
        #: extra elements some families render (S3: StringToSign, Resource, ...)
        self.extra = extra

    def code_for(self, family: ApiFamily) -> tuple[str, int]:
        """The (code, HTTP status) this error has in an API family."""
        return self.family_codes.get(family, (self.code, self.status))


# --- request-level errors shared by the Query APIs -----------------------------------------


class InternalError(AwsError):
    """An unexpected server-side failure."""

    code = "InternalError"
    status = 500


class InvalidAction(AwsError):
    """The action is not known to this service."""

    code = "InvalidAction"
    status = 400


class MissingParameter(AwsError):
    """A required parameter is absent."""

    code = "MissingParameter"
    status = 400


class InvalidParameterValue(AwsError):
    """A parameter has a bad value."""

    code = "InvalidParameterValue"
    status = 400


class InvalidParameterCombination(AwsError):
    """Parameters that cannot be used together."""

    code = "InvalidParameterCombination"
    status = 400


class MalformedQueryString(AwsError):
    """The query string cannot be parsed."""

    code = "MalformedQueryString"
    status = 400


class RequestEntityTooLarge(AwsError):
    """The request body is larger than allowed."""

    code = "RequestEntityTooLarge"
    status = 413


class ServiceUnavailable(AwsError):
    """The service cannot answer now."""

    code = "ServiceUnavailable"
    status = 503


# --- authentication (raised by eucalyptus.common.auth; spelled per family) -----------------


class MissingAuthenticationToken(AwsError):
    """The request carries no credentials."""

    code = "MissingAuthenticationToken"
    status = 403
    family_codes = {"ec2": ("AuthFailure", 401), "s3": ("AccessDenied", 403)}


class IncompleteSignature(AwsError):
    """The signature is missing a required component."""

    code = "IncompleteSignature"
    status = 400
    family_codes = {"ec2": ("AuthFailure", 401), "s3": ("AccessDenied", 403)}


class InvalidClientTokenId(AwsError):
    """The access key id is unknown or not active."""

    code = "InvalidClientTokenId"
    status = 403
    family_codes = {"ec2": ("AuthFailure", 401), "s3": ("InvalidAccessKeyId", 403)}


class SignatureDoesNotMatch(AwsError):
    """The request signature does not match the one computed."""

    code = "SignatureDoesNotMatch"
    status = 403
    family_codes = {"ec2": ("AuthFailure", 401)}


class RequestExpired(AwsError):
    """The request timestamp is outside the allowed window."""

    code = "RequestExpired"
    status = 400
    family_codes = {"iam": ("SignatureDoesNotMatch", 403), "s3": ("RequestTimeTooSkewed", 403)}


# --- authorisation -------------------------------------------------------------------------


class AccessDenied(AwsError):
    """The caller is not allowed to do this."""

    code = "AccessDenied"
    status = 403
    family_codes = {"ec2": ("UnauthorizedOperation", 403)}


# --- IAM (Euare) ---------------------------------------------------------------------------


class NoSuchEntity(AwsError):
    """The entity does not exist."""

    code = "NoSuchEntity"
    status = 404


class EntityAlreadyExists(AwsError):
    """The entity already exists."""

    code = "EntityAlreadyExists"
    status = 409


class DeleteConflict(AwsError):
    """The entity still has subordinate entities."""

    code = "DeleteConflict"
    status = 409


class LimitExceeded(AwsError):
    """A limit would be exceeded."""

    code = "LimitExceeded"
    status = 409


class MalformedPolicyDocument(AwsError):
    """The policy document is not valid."""

    code = "MalformedPolicyDocument"
    status = 400


class MalformedCertificate(AwsError):
    """The certificate is not valid."""

    code = "MalformedCertificate"
    status = 400


class DuplicateCertificate(AwsError):
    """The certificate is already uploaded."""

    code = "DuplicateCertificate"
    status = 409


class PasswordPolicyViolation(AwsError):
    """The password is not allowed."""

    code = "PasswordPolicyViolation"
    status = 400


class ValidationError(AwsError):
    """A parameter fails validation."""

    code = "ValidationError"
    status = 400


class SoapFault(EucalyptusError):
    """A SOAP fault received from a peer whose code is not a known error class."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def known_errors() -> dict[str, type[AwsError]]:
    """Every AwsError class by its code: across the wire only these are rebuilt."""
    found: dict[str, type[AwsError]] = {}
    stack: list[type[AwsError]] = [AwsError]
    while stack:
        cls = stack.pop()
        found.setdefault(cls.code, cls)
        stack.extend(cls.__subclasses__())
    return found
