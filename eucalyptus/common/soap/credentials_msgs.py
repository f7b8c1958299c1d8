"""``GetCredentials``: the credentials zip over the CLC's ``Configuration`` service.

``euca_conf --get-credentials`` on the CLC host signs this request with the cloud key (only
the cloud certificate is trusted by that service); the CLC answers with the zip described
in :mod:`eucalyptus.clc.credentials`. Every call mints a new key pair and certificate, so
the operation is not idempotent (a retry would register a second certificate).
"""

from __future__ import annotations

from eucalyptus.common.soap.messages import EucalyptusMessage, message
from eucalyptus.common.soap.operations import Operation, Timeouts


@message
class GetCredentialsType(EucalyptusMessage):
    """Credentials for ``user_name`` of account ``account_name`` (a name or a number)."""

    account_name: str
    user_name: str


@message
class GetCredentialsResponseType(EucalyptusMessage):
    """The zip file's bytes (base64 on the wire)."""

    zip_file: bytes


GET_CREDENTIALS = Operation(
    "GetCredentials",
    GetCredentialsType,
    GetCredentialsResponseType,
    timeout=Timeouts.FAST,
    idempotent=False,
)
