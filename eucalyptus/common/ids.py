"""Resource ids in the original's formats (reference 8.2), never reused.

An id is ``<prefix>-`` and 8 upper-case hex digits: the Adler-32 of a seed string
mixed with random bytes. 32 bits collide easily enough that callers keep every id
ever issued (the ``issued_ids`` table) and ask again on a clash: :func:`new_id`
takes a ``taken`` predicate for that. Access keys, account numbers and IAM unique
ids have their own AWS-like shapes, and an account's S3 canonical user id is derived
from its number.
"""

from __future__ import annotations

import hashlib
import secrets
import string
import uuid
import zlib
from collections.abc import Callable

_PREFIXES = frozenset(
    {"emi", "eki", "eri", "ami", "i", "r", "vol", "snap", "sg", "bun", "import-i", "eipalloc"}
)
_ALNUM_UPPER = string.ascii_uppercase + string.digits
_SECRET_ALPHABET = string.ascii_letters + string.digits + "+/"


def resource_id(prefix: str, seed: str = "") -> str:
    """A fresh id such as ``emi-1A2B3C4D``; ``seed`` mixes in like the original's."""
    if prefix not in _PREFIXES:
        raise ValueError(f"unknown id prefix {prefix!r}")
    value = zlib.adler32(seed.encode() + secrets.token_bytes(16)) & 0xFFFFFFFF
    return f"{prefix}-{value:08X}"


def new_id(prefix: str, taken: Callable[[str], bool], seed: str = "", attempts: int = 64) -> str:
    """An id that ``taken`` says was never issued; raises RuntimeError if none found."""
    for _ in range(attempts):
        candidate = resource_id(prefix, seed)
        if not taken(candidate):
            return candidate
    raise RuntimeError(f"no free {prefix}- id after {attempts} attempts")


def account_number() -> str:
    """A 12-digit account number, never starting with 0."""
    return str(secrets.randbelow(9 * 10**11) + 10**11)


def access_key_id() -> str:
    """An access key id: ``AKI`` and 17 upper-case letters or digits (20 characters)."""
    return "AKI" + "".join(secrets.choice(_ALNUM_UPPER) for _ in range(17))


def secret_access_key() -> str:
    """A 40-character secret access key."""
    return "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(40))


def unique_id(prefix: str) -> str:
    """An IAM unique id: a 4-letter prefix (AIDA user, AGPA group, ASCA cert) and 17 characters."""
    return prefix + "".join(secrets.choice(_ALNUM_UPPER) for _ in range(17))


def canonical_user_id(account_number: str) -> str:
    """The S3 canonical user id of an account: 64 lower-case hex digits.

    It is the SHA-256 of ``eucalyptus-canonical-id:<number>``, so it is the same wherever
    and whenever it is computed and needs no column of its own; it cannot be turned back
    into the number (look it up by comparing with every account's).
    """
    return hashlib.sha256(f"eucalyptus-canonical-id:{account_number}".encode()).hexdigest()


def request_id() -> str:
    """A request id as AWS prints them (a UUID)."""
    return str(uuid.uuid4())
