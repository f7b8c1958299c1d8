"""Validation of identity names and paths, with IAM's error codes and messages."""

from __future__ import annotations

import re

from eucalyptus.common.errors import ValidationError

# ASCII only (AWS's \w is [A-Za-z0-9_]); matched against the whole value (fullmatch)
_USER = re.compile(r"[\w+=,.@-]{1,64}", re.ASCII)
_GROUP = re.compile(r"[\w+=,.@-]{1,128}", re.ASCII)
_POLICY = re.compile(r"[\w+=,.@-]{1,128}", re.ASCII)
_ACCOUNT = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_PATH = re.compile(r"/(?:[\x21-\x7e]*/)?")
_PATH_PREFIX = re.compile(r"/[\x21-\x7e]*")

ADMIN_USER = "admin"
CLOUD_ACCOUNT = "eucalyptus"


def _check(pattern: re.Pattern[str], value: str, what: str, rule: str) -> str:
    if not pattern.fullmatch(value):
        raise ValidationError(f"1 validation error detected: Value '{value}' at '{what}' {rule}")
    return value


def user_name(value: str, what: str = "userName") -> str:
    return _check(_USER, value, what, "must be 1-64 characters of letters, digits and +=,.@_-")


def group_name(value: str, what: str = "groupName") -> str:
    return _check(_GROUP, value, what, "must be 1-128 characters of letters, digits and +=,.@_-")


def policy_name(value: str) -> str:
    return _check(
        _POLICY, value, "policyName", "must be 1-128 characters of letters, digits and +=,.@_-"
    )


def account_name(value: str) -> str:
    return _check(
        _ACCOUNT, value, "accountName", "must be 1-63 lower-case letters, digits and inner hyphens"
    )


def path(value: str | None, what: str = "path") -> str:
    if value is None or value == "":
        return "/"
    if len(value) > 512:
        raise ValidationError(f"1 validation error detected: Value at '{what}' is longer than 512")
    return _check(_PATH, value, what, "must begin and end with / and hold printable ASCII")


def path_prefix(value: str | None) -> str:
    """A ``PathPrefix`` for the List actions: ``/`` when absent."""
    if value is None or value == "":
        return "/"
    if len(value) > 512:
        raise ValidationError(
            "1 validation error detected: Value at 'pathPrefix' is longer than 512"
        )
    return _check(_PATH_PREFIX, value, "pathPrefix", "must begin with / and hold printable ASCII")
