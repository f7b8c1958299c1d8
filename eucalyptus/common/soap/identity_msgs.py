"""Messages of the CLC's ``Identity`` service: the cloud's identity, asked for by components.

Walrus authenticates S3 users with the cloud's access keys without keeping its own copy of
them (a copy could drift from the CLC's records): it asks the CLC over this service, signed
with the cloud key pair, and remembers the answers for a few seconds.

``LookupAccessKey``
    the secret of an access key and who it belongs to: the user, its account, the policy
    documents that govern the user (its own and its groups') and those the cloud
    administrator attached to the account. A key that is unknown or Inactive, or whose user
    is disabled, is answered ``found=false`` (not a fault): callers treat all three alike.
``LookupAccount``
    an account by exactly one of its number, its S3 canonical user id
    (:func:`eucalyptus.common.ids.canonical_user_id`) or an e-mail address. The identity
    records hold no e-mail address, so an e-mail lookup is always ``found=false``; it is
    declared so that S3 grants by e-mail have a place to ask once such an address exists.

Both operations only read, so they are idempotent. The answer to ``LookupAccessKey`` carries
a secret: the service trusts only the cloud certificate, and like every internal call it
travels on the cloud's internal network.
"""

from __future__ import annotations

from dataclasses import field

from eucalyptus.common.soap.messages import EucalyptusMessage, message
from eucalyptus.common.soap.operations import Operation, ServiceDecl, Timeouts


@message
class LookupAccessKeyType(EucalyptusMessage):
    """Who holds ``access_key_id``."""

    access_key_id: str


@message
class LookupAccessKeyResponseType(EucalyptusMessage):
    """The key's secret and owner; every field but ``found`` is empty when not found."""

    found: bool
    secret_key: str = ""
    #: the account's row id in the CLC database (what ``Principal.account_id`` holds)
    account_db_id: int = 0
    account_number: str = ""
    account_name: str = ""
    #: the user's row id in the CLC database (``Principal.user_id``; ``user_id`` is taken by
    #: the envelope field every message carries)
    user_db_id: int = 0
    user_name: str = ""
    user_path: str = ""
    user_unique_id: str = ""
    #: policy documents of the user and of its groups
    policies: list[str] = field(default_factory=list)
    #: policy documents the cloud administrator attached to the account
    account_policies: list[str] = field(default_factory=list)


@message
class LookupAccountType(EucalyptusMessage):
    """An account by exactly one of its number, canonical user id, e-mail address or name."""

    account_number: str = ""
    canonical_id: str = ""
    email: str = ""
    account_name: str = ""


@message
class LookupAccountResponseType(EucalyptusMessage):
    """The account; every field but ``found`` is empty when not found."""

    found: bool
    account_number: str = ""
    account_name: str = ""
    canonical_id: str = ""
    #: what S3 shows as the owner's DisplayName: the account name
    display_name: str = ""


LOOKUP_ACCESS_KEY = Operation(
    "LookupAccessKey",
    LookupAccessKeyType,
    LookupAccessKeyResponseType,
    timeout=Timeouts.FAST,
    idempotent=True,
)
LOOKUP_ACCOUNT = Operation(
    "LookupAccount",
    LookupAccountType,
    LookupAccountResponseType,
    timeout=Timeouts.FAST,
    idempotent=True,
)

IDENTITY_SERVICE = ServiceDecl(
    "Identity", "/services/Identity", (LOOKUP_ACCESS_KEY, LOOKUP_ACCOUNT)
)
