"""Checked operations on identity records, each inside the caller's transaction.

Every function takes an open :class:`Session` (see :meth:`Database.run`): when one
raises, the whole unit of work rolls back and nothing half-written survives.
Lookups raise ``NoSuchEntity`` and creations ``EntityAlreadyExists`` with IAM's
messages; deletions refuse with ``DeleteConflict`` while something still hangs
from the entity, unless the caller asked for a recursive delete.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Protocol, TypeVar

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session

from eucalyptus.clc.identity import names
from eucalyptus.clc.identity.models import (
    AccessKey,
    Account,
    Group,
    GroupMembership,
    LoginProfile,
    Policy,
    SigningCertificate,
    User,
)
from eucalyptus.common import ids
from eucalyptus.common.errors import (
    DeleteConflict,
    DuplicateCertificate,
    EntityAlreadyExists,
    LimitExceeded,
    NoSuchEntity,
)

MAX_ACCESS_KEYS = 2


class _Named(Protocol):
    @property
    def name(self) -> str: ...


N = TypeVar("N", bound=_Named)


def _by_name(rows: Sequence[N]) -> list[N]:
    """Sorted by name in code-point order, whatever the database's collation."""
    return sorted(rows, key=lambda row: row.name)


def _starts_with(column: Mapped[str], prefix: str) -> ColumnElement[bool]:
    """Case-sensitive prefix test on every database (SQLite's LIKE ignores case)."""
    return func.substr(column, 1, len(prefix)) == prefix


# --- accounts --------------------------------------------------------------------------------
def get_account(session: Session, name_or_number: str) -> Account:
    account = session.scalars(
        select(Account).where((Account.name == name_or_number) | (Account.number == name_or_number))
    ).first()
    if account is None:
        raise NoSuchEntity(f"Account {name_or_number} does not exist")
    return account


def create_account(session: Session, name: str) -> tuple[Account, User]:
    """A new account and its ``admin`` user (no keys yet)."""
    names.account_name(name)
    if _account_name_taken(session, name):
        raise EntityAlreadyExists(f"Account {name} already exists")
    number = ids.account_number()
    while _account_name_taken(session, number):
        number = ids.account_number()
    account = Account(name=name, number=number)
    session.add(account)
    session.flush()
    admin = _new_user(session, account, names.ADMIN_USER, "/")
    return account, admin


def _account_name_taken(session: Session, name: str, but: Account | None = None) -> bool:
    """Whether ``name`` is another account's name or number (lookups take either)."""
    query = select(Account.id).where((Account.name == name) | (Account.number == name))
    if but is not None:
        query = query.where(Account.id != but.id)
    return session.scalar(query) is not None


def list_accounts(session: Session) -> Sequence[Account]:
    return _by_name(session.scalars(select(Account)).all())


def delete_account(session: Session, account: Account, *, recursive: bool) -> None:
    if account.name == names.CLOUD_ACCOUNT:
        raise DeleteConflict("The system account eucalyptus cannot be deleted")
    if not recursive:
        others = session.scalar(
            select(func.count(User.id)).where(
                User.account_id == account.id, User.name != names.ADMIN_USER
            )
        )
        groups = session.scalar(select(func.count(Group.id)).where(Group.account_id == account.id))
        if others or groups:
            raise DeleteConflict(
                f"Account {account.name} still has users or groups; delete them first or "
                "use Recursive=true"
            )
    session.execute(delete(Policy).where(Policy.account_id == account.id))
    session.delete(account)


def rename_account(session: Session, account: Account, new_name: str) -> None:
    """Eucalyptus's account alias is the account's name."""
    names.account_name(new_name)
    if new_name == account.name:
        return
    if _account_name_taken(session, new_name, but=account):
        raise EntityAlreadyExists(f"Account alias {new_name} already exists")
    if account.name == names.CLOUD_ACCOUNT:
        raise DeleteConflict("The system account eucalyptus cannot be renamed")
    account.name = new_name


# --- users -----------------------------------------------------------------------------------
def _new_user(session: Session, account: Account, name: str, path: str) -> User:
    user = User(account_id=account.id, name=name, path=path, unique_id=ids.unique_id("AIDA"))
    user.account = account
    session.add(user)
    session.flush()
    return user


def create_user(session: Session, account: Account, name: str, path: str | None) -> User:
    names.user_name(name)
    checked_path = names.path(path)
    if _user_or_none(session, account, name) is not None:
        raise EntityAlreadyExists(f"User with name {name} already exists.")
    return _new_user(session, account, name, checked_path)


def _user_or_none(session: Session, account: Account, name: str) -> User | None:
    return session.scalars(
        select(User).where(User.account_id == account.id, User.name == name)
    ).first()


def get_user(session: Session, account: Account, name: str) -> User:
    user = _user_or_none(session, account, name)
    if user is None:
        raise NoSuchEntity(f"The user with name {name} cannot be found.")
    return user


def list_users(session: Session, account: Account, path_prefix: str = "/") -> Sequence[User]:
    return _by_name(
        session.scalars(
            select(User).where(User.account_id == account.id, _starts_with(User.path, path_prefix))
        ).all()
    )


def update_user(session: Session, user: User, new_name: str | None, new_path: str | None) -> None:
    if user.name == names.ADMIN_USER and (
        new_name not in (None, user.name) or new_path not in (None, user.path)
    ):
        raise DeleteConflict("The account administrator admin cannot be renamed or moved")
    if new_name is not None and new_name != user.name:
        names.user_name(new_name, "newUserName")
        if _user_or_none(session, user.account, new_name) is not None:
            raise EntityAlreadyExists(f"User with name {new_name} already exists.")
        user.name = new_name
    if new_path is not None:
        user.path = names.path(new_path, "newPath")


def delete_user(session: Session, user: User, *, recursive: bool = False) -> None:
    if user.name == names.ADMIN_USER:
        raise DeleteConflict("The account administrator admin cannot be deleted")
    attached = {
        "access keys": select(func.count())
        .select_from(AccessKey)
        .where(AccessKey.user_id == user.id),
        "signing certificates": select(func.count())
        .select_from(SigningCertificate)
        .where(SigningCertificate.user_id == user.id),
        "policies": select(func.count())
        .select_from(Policy)
        .where(Policy.owner_kind == "user", Policy.owner_id == user.id),
        "group memberships": select(func.count())
        .select_from(GroupMembership)
        .where(GroupMembership.user_id == user.id),
        "a login profile": select(func.count())
        .select_from(LoginProfile)
        .where(LoginProfile.user_id == user.id),
    }
    if not recursive:
        held = [what for what, query in attached.items() if session.scalar(query)]
        if held:
            raise DeleteConflict(f"Cannot delete entity, must remove {', '.join(held)} first.")
    session.execute(delete(Policy).where(Policy.owner_kind == "user", Policy.owner_id == user.id))
    session.delete(user)


# --- groups ----------------------------------------------------------------------------------
def create_group(session: Session, account: Account, name: str, path: str | None) -> Group:
    names.group_name(name)
    checked_path = names.path(path)
    if _group_or_none(session, account, name) is not None:
        raise EntityAlreadyExists(f"Group with name {name} already exists.")
    group = Group(
        account_id=account.id, name=name, path=checked_path, unique_id=ids.unique_id("AGPA")
    )
    session.add(group)
    session.flush()
    return group


def _group_or_none(session: Session, account: Account, name: str) -> Group | None:
    return session.scalars(
        select(Group).where(Group.account_id == account.id, Group.name == name)
    ).first()


def get_group(session: Session, account: Account, name: str) -> Group:
    group = _group_or_none(session, account, name)
    if group is None:
        raise NoSuchEntity(f"The group with name {name} cannot be found.")
    return group


def list_groups(session: Session, account: Account, path_prefix: str = "/") -> Sequence[Group]:
    return _by_name(
        session.scalars(
            select(Group).where(
                Group.account_id == account.id, _starts_with(Group.path, path_prefix)
            )
        ).all()
    )


def update_group(
    session: Session, account: Account, group: Group, new_name: str | None, new_path: str | None
) -> None:
    if new_name is not None and new_name != group.name:
        names.group_name(new_name, "newGroupName")
        if _group_or_none(session, account, new_name) is not None:
            raise EntityAlreadyExists(f"Group with name {new_name} already exists.")
        group.name = new_name
    if new_path is not None:
        group.path = names.path(new_path, "newPath")


def delete_group(session: Session, group: Group, *, recursive: bool = False) -> None:
    members = session.scalar(
        select(func.count())
        .select_from(GroupMembership)
        .where(GroupMembership.group_id == group.id)
    )
    policies = session.scalar(
        select(func.count())
        .select_from(Policy)
        .where(Policy.owner_kind == "group", Policy.owner_id == group.id)
    )
    if (members or policies) and not recursive:
        raise DeleteConflict(
            "Cannot delete entity, must remove users and policies from group first."
        )
    session.execute(delete(Policy).where(Policy.owner_kind == "group", Policy.owner_id == group.id))
    session.delete(group)


def group_members(session: Session, group: Group) -> Sequence[User]:
    return _by_name(
        session.scalars(
            select(User)
            .join(GroupMembership, GroupMembership.user_id == User.id)
            .where(GroupMembership.group_id == group.id)
        ).all()
    )


def groups_for_user(session: Session, user: User) -> Sequence[Group]:
    return _by_name(
        session.scalars(
            select(Group)
            .join(GroupMembership, GroupMembership.group_id == Group.id)
            .where(GroupMembership.user_id == user.id)
        ).all()
    )


def add_user_to_group(session: Session, group: Group, user: User) -> None:
    exists = session.get(GroupMembership, (group.id, user.id))
    if exists is None:
        session.add(GroupMembership(group_id=group.id, user_id=user.id))


def remove_user_from_group(session: Session, group: Group, user: User) -> None:
    membership = session.get(GroupMembership, (group.id, user.id))
    if membership is None:
        raise NoSuchEntity(f"User {user.name} is not in group {group.name}.")
    session.delete(membership)


# --- access keys -----------------------------------------------------------------------------
def create_access_key(session: Session, user: User) -> AccessKey:
    count = session.scalar(
        select(func.count()).select_from(AccessKey).where(AccessKey.user_id == user.id)
    )
    if (count or 0) >= MAX_ACCESS_KEYS:
        raise LimitExceeded(f"Cannot exceed quota for AccessKeysPerUser: {MAX_ACCESS_KEYS}")
    key = AccessKey(key_id=ids.access_key_id(), user_id=user.id, secret=ids.secret_access_key())
    session.add(key)
    session.flush()
    return key


def list_access_keys(session: Session, user: User) -> Sequence[AccessKey]:
    return session.scalars(
        select(AccessKey)
        .where(AccessKey.user_id == user.id)
        .order_by(AccessKey.created, AccessKey.key_id)
    ).all()


def get_access_key(session: Session, user: User, key_id: str) -> AccessKey:
    key = session.get(AccessKey, key_id)
    if key is None or key.user_id != user.id:
        raise NoSuchEntity(f"The Access Key with id {key_id} cannot be found.")
    return key


def active_key_or_new(session: Session, user: User) -> AccessKey:
    """The user's first active key, or a new one: what a credentials download hands out."""
    for key in list_access_keys(session, user):
        if key.status == "Active":
            return key
    return create_access_key(session, user)


# --- signing certificates --------------------------------------------------------------------
def add_signing_certificate(
    session: Session, user: User, pem: str, der: bytes
) -> SigningCertificate:
    fingerprint = hashlib.sha256(der).hexdigest()
    cert = SigningCertificate(
        cert_id=ids.unique_id("ASCA") + fingerprint[:8].upper(),
        user_id=user.id,
        body=pem,
        fingerprint=fingerprint,
    )
    session.add(cert)
    try:
        session.flush()
    except IntegrityError:
        raise DuplicateCertificate("The certificate has already been uploaded.") from None
    return cert


def list_signing_certificates(session: Session, user: User) -> Sequence[SigningCertificate]:
    return session.scalars(
        select(SigningCertificate)
        .where(SigningCertificate.user_id == user.id)
        .order_by(SigningCertificate.created, SigningCertificate.cert_id)
    ).all()


def get_signing_certificate(session: Session, user: User, cert_id: str) -> SigningCertificate:
    cert = session.get(SigningCertificate, cert_id)
    if cert is None or cert.user_id != user.id:
        raise NoSuchEntity(f"The Certificate with id {cert_id} cannot be found.")
    return cert


# --- policies --------------------------------------------------------------------------------
def put_policy(
    session: Session, kind: str, owner_id: int, account_id: int, name: str, document: str
) -> None:
    names.policy_name(name)
    existing = _policy_or_none(session, kind, owner_id, name)
    if existing is None:
        session.add(
            Policy(
                owner_kind=kind,
                owner_id=owner_id,
                account_id=account_id,
                name=name,
                document=document,
            )
        )
    else:
        existing.document = document


def _policy_or_none(session: Session, kind: str, owner_id: int, name: str) -> Policy | None:
    return session.scalars(
        select(Policy).where(
            Policy.owner_kind == kind, Policy.owner_id == owner_id, Policy.name == name
        )
    ).first()


def get_policy(session: Session, kind: str, owner_id: int, name: str) -> Policy:
    policy = _policy_or_none(session, kind, owner_id, name)
    if policy is None:
        raise NoSuchEntity(f"The {kind} policy with name {name} cannot be found.")
    return policy


def list_policies(session: Session, kind: str, owner_id: int) -> Sequence[Policy]:
    return _by_name(
        session.scalars(
            select(Policy).where(Policy.owner_kind == kind, Policy.owner_id == owner_id)
        ).all()
    )


def delete_policy(session: Session, kind: str, owner_id: int, name: str) -> None:
    session.delete(get_policy(session, kind, owner_id, name))


def documents_governing(session: Session, user: User) -> tuple[list[str], list[str]]:
    """(user + group policy documents, account policy documents) for one user."""
    group_ids = select(GroupMembership.group_id).where(GroupMembership.user_id == user.id)
    own = session.scalars(
        select(Policy.document).where(
            ((Policy.owner_kind == "user") & (Policy.owner_id == user.id))
            | ((Policy.owner_kind == "group") & Policy.owner_id.in_(group_ids))
        )
    ).all()
    account = session.scalars(
        select(Policy.document).where(
            Policy.owner_kind == "account", Policy.owner_id == user.account_id
        )
    ).all()
    return list(own), list(account)
