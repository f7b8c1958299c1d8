"""``GetCredentials``: the credentials zip over the CLC's ``Configuration`` service.

``euca_conf --get-credentials`` on the CLC host signs this request with the cloud key (only
the cloud certificate is trusted by that service); the CLC answers with the zip described
in :mod:`eucalyptus.clc.credentials`. Every call mints a new key pair and certificate, so
the operation is not idempotent (a retry would register a second certificate).

:data:`CLC_CONFIGURATION_SERVICE` is the Configuration service as the CLC serves it: the
operations of :data:`~.configuration_msgs.CONFIGURATION_SERVICE` plus ``GetCredentials``.
(It is declared here rather than in ``configuration_msgs`` so that peers which only
register components keep the smaller table.)
"""

from __future__ import annotations

from eucalyptus.common.soap.configuration_msgs import CONFIGURATION_SERVICE
from eucalyptus.common.soap.messages import EucalyptusMessage, message
from eucalyptus.common.soap.operations import Operation, ServiceDecl, Timeouts


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

CLC_CONFIGURATION_SERVICE = ServiceDecl(
    CONFIGURATION_SERVICE.name,
    CONFIGURATION_SERVICE.path,
    (*CONFIGURATION_SERVICE.operations, GET_CREDENTIALS),
)
