"""Errors of the internal SOAP layer.

Each class carries a code that is unique among :class:`AwsError` subclasses, so that
:func:`eucalyptus.common.errors.known_errors` can rebuild it on the far side of a call.
Security refusals all derive from :class:`SoapSecurityError`; a server renders every one of
them as a ``soapenv:Client`` fault and logs the peer address and the reason.
"""

from __future__ import annotations

from eucalyptus.common.errors import AwsError


class MalformedSoapMessage(AwsError):
    """The bytes are not a well-formed SOAP 1.1 envelope of the expected shape."""

    code = "MalformedSoapMessage"
    status = 400


class DoctypeForbidden(MalformedSoapMessage):
    """The document carries a DOCTYPE (and so possibly entity declarations); never parsed."""

    code = "DoctypeForbidden"
    status = 400


class SoapSecurityError(AwsError):
    """Base of every refusal by the message-security check."""

    code = "InvalidSecurity"
    status = 403


class MissingSecurityHeader(SoapSecurityError):
    """The envelope carries no ``euca:Security`` header."""

    code = "MissingSecurityHeader"
    status = 403


class MalformedSecurityHeader(SoapSecurityError):
    """The ``euca:Security`` header lacks a field, repeats one, or has a bad value."""

    code = "MalformedSecurityHeader"
    status = 400


class UntrustedPeer(SoapSecurityError):
    """The sender's certificate is not one of the certificates this service trusts."""

    code = "UntrustedPeer"
    status = 403


class InvalidMessageSignature(SoapSecurityError):
    """The signature does not verify: the message was altered or signed with another key."""

    code = "InvalidMessageSignature"
    status = 403


class MessageTargetMismatch(SoapSecurityError):
    """The signed target path or SOAPAction is not the one this request was delivered to."""

    code = "MessageTargetMismatch"
    status = 403


class MessageExpired(SoapSecurityError):
    """The signed Created timestamp is further from the receiver's clock than allowed."""

    code = "MessageExpired"
    status = 403


class ReplayedMessage(SoapSecurityError):
    """The MessageID was already accepted within the replay window."""

    code = "ReplayedMessage"
    status = 403


class ReplayCacheFull(SoapSecurityError):
    """Too many live MessageIDs to remember; the request is refused rather than risk a replay."""

    code = "ReplayCacheFull"
    status = 503


class ComponentUnreachable(AwsError):
    """The peer component could not be reached (connection refused, reset or dropped)."""

    code = "ComponentUnreachable"
    status = 503


class ComponentTimeout(AwsError):
    """The peer component did not answer within the operation's timeout."""

    code = "ComponentTimeout"
    status = 504
