"""The cloud CA, certificates it issues, and how key files are written."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from eucalyptus.common import pki


@pytest.fixture(scope="module")
def ca() -> pki.KeyPair:
    return pki.make_cloud_ca("test-cloud")


def test_the_cloud_ca_is_a_self_signed_ca_with_a_ten_year_life(ca: pki.KeyPair) -> None:
    constraints = ca.cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert constraints.ca
    assert pki.verify_issued_by(ca.cert, ca.cert)
    life = ca.cert.not_valid_after_utc - ca.cert.not_valid_before_utc
    assert 3649 <= life.days <= 3651
    assert pki.name_field(ca.cert.subject, NameOID.COMMON_NAME) == "test-cloud"
    assert ca.key.key_size == 2048


def test_a_user_certificate_verifies_against_the_ca_and_names_user_and_account(
    ca: pki.KeyPair,
) -> None:
    pair = pki.issue_user_keypair(ca, "acme", "alice")
    assert pki.verify_issued_by(pair.cert, ca.cert)
    assert pki.name_field(pair.cert.subject, NameOID.COMMON_NAME) == "alice"
    assert pki.name_field(pair.cert.subject, NameOID.ORGANIZATIONAL_UNIT_NAME) == "acme"
    assert not pair.cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert pair.cert.not_valid_after_utc <= ca.cert.not_valid_after_utc
    assert pki.public_keys_match(pair.key.public_key(), pair.cert.public_key())


def test_a_component_certificate_verifies_only_against_its_own_ca(ca: pki.KeyPair) -> None:
    pair = pki.issue_component_keypair(ca, "cluster", "PARTI00")
    assert pki.verify_issued_by(pair.cert, ca.cert)
    assert pki.name_field(pair.cert.subject, NameOID.ORGANIZATIONAL_UNIT_NAME) == "cluster"
    other = pki.make_cloud_ca("test-cloud")  # same subject, different key
    assert not pki.verify_issued_by(pair.cert, other.cert)
    with pytest.raises(ValueError, match="unknown component kind"):
        pki.issue_component_keypair(ca, "toaster", "x")  # type: ignore[arg-type]


def test_saved_pairs_have_0600_keys_0644_certificates_and_load_back(
    ca: pki.KeyPair, tmp_path: Path
) -> None:
    pair = pki.issue_user_keypair(ca, "acme", "bob")
    cert_path, key_path = tmp_path / "keys" / "bob-cert.pem", tmp_path / "keys" / "bob-pk.pem"
    pair.save(cert_path, key_path)
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(cert_path.stat().st_mode) == 0o644
    loaded = pki.KeyPair.load(cert_path, key_path)
    assert loaded.fingerprint == pair.fingerprint
    assert [p.name for p in (tmp_path / "keys").iterdir() if p.name.startswith(".")] == []


def test_loading_a_key_with_another_certificate_is_refused(ca: pki.KeyPair, tmp_path: Path) -> None:
    pki.write_certificate(tmp_path / "cert.pem", pki.issue_user_keypair(ca, "a", "b").cert)
    pki.write_private_key(tmp_path / "pk.pem", pki.new_private_key())
    with pytest.raises(pki.PkiError, match="is not the private key"):
        pki.KeyPair.load(tmp_path / "cert.pem", tmp_path / "pk.pem")
    with pytest.raises(pki.PkiError, match="no such"):
        pki.load_certificate(tmp_path / "absent.pem")
    (tmp_path / "junk.pem").write_text("not a key")
    with pytest.raises(pki.PkiError, match="not a readable"):
        pki.load_private_key(tmp_path / "junk.pem")


def test_a_failed_atomic_write_keeps_the_old_file_and_leaves_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "file.pem"
    pki.atomic_write(target, b"old", 0o600)

    def broken_fsync(_fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("eucalyptus.common.pki.os.fsync", broken_fsync)
    with pytest.raises(OSError, match="No space"):
        pki.atomic_write(target, b"new", 0o600)
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.pem"]


def test_key_fingerprints_are_stable_hex(ca: pki.KeyPair) -> None:
    first = pki.key_fingerprint(ca.key.public_key())
    assert first == pki.key_fingerprint(ca.cert.public_key())  # type: ignore[arg-type]
    assert len(first) == 40
    int(first, 16)
    assert len(pki.cert_fingerprint(ca.cert)) == 64
