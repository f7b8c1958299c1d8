"""Login-profile passwords, stored only as a slow salted hash (scrypt)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from eucalyptus.common.errors import PasswordPolicyViolation

# n=2**14, r=8, p=1: about 16 MiB and tens of milliseconds per hash, by design
_N, _R, _P = 2**14, 8, 1
MAX_LENGTH = 128


def check_policy(password: str) -> None:
    if not 1 <= len(password) <= MAX_LENGTH:
        raise PasswordPolicyViolation(f"Password must be 1 to {MAX_LENGTH} characters long")


def hash_password(password: str) -> str:
    check_policy(password)
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    encoded_salt = base64.b64encode(salt).decode()
    encoded_digest = base64.b64encode(digest).decode()
    return f"scrypt${_N}${_R}${_P}${encoded_salt}${encoded_digest}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    computed = hashlib.scrypt(
        password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=32
    )
    return hmac.compare_digest(computed, base64.b64decode(digest))
