"""Ids in the original's formats, never reused."""

from __future__ import annotations

import hashlib
import re

import pytest

from eucalyptus.common import ids


@pytest.mark.parametrize("prefix", ["emi", "eki", "eri", "i", "r", "vol", "snap", "sg"])
def test_resource_ids_are_prefix_and_eight_upper_hex(prefix: str) -> None:
    assert re.fullmatch(rf"{prefix}-[0-9A-F]{{8}}", ids.resource_id(prefix, "seed"))


def test_unknown_prefix_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown id prefix"):
        ids.resource_id("bogus")


def test_new_id_skips_ids_already_issued() -> None:
    issued: set[str] = set()
    for _ in range(2000):
        issued.add(ids.new_id("i", issued.__contains__))
    assert len(issued) == 2000


def test_new_id_gives_up_when_everything_is_taken() -> None:
    with pytest.raises(RuntimeError, match="no free i- id"):
        ids.new_id("i", lambda _candidate: True, attempts=5)


def test_credentials_shapes() -> None:
    assert re.fullmatch(r"AKI[A-Z0-9]{17}", ids.access_key_id())
    assert len(ids.secret_access_key()) == 40
    number = ids.account_number()
    assert re.fullmatch(r"[1-9][0-9]{11}", number)
    assert re.fullmatch(r"AIDA[A-Z0-9]{17}", ids.unique_id("AIDA"))


def test_canonical_user_id_is_a_stable_sha256_of_the_account_number() -> None:
    canonical = ids.canonical_user_id("123456789012")
    assert re.fullmatch(r"[0-9a-f]{64}", canonical)
    assert canonical == ids.canonical_user_id("123456789012")
    assert canonical == hashlib.sha256(b"eucalyptus-canonical-id:123456789012").hexdigest()
    assert canonical != ids.canonical_user_id("123456789013")
