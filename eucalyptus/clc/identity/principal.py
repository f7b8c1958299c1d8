"""Who is calling: a user of an account, with the policies that govern it."""

from __future__ import annotations

from dataclasses import dataclass

from eucalyptus.clc.identity.names import ADMIN_USER, CLOUD_ACCOUNT
from eucalyptus.common.policy import Policy


def user_arn(account_number: str, path: str, name: str) -> str:
    return f"arn:aws:iam::{account_number}:user{path}{name}"


def group_arn(account_number: str, path: str, name: str) -> str:
    return f"arn:aws:iam::{account_number}:group{path}{name}"


@dataclass(frozen=True)
class Principal:
    account_id: int
    account_number: str
    account_name: str
    user_id: int
    user_name: str
    user_path: str
    user_unique_id: str
    access_key_id: str
    #: the user's own policies and those of its groups
    policies: tuple[Policy, ...] = ()
    #: policies attached to the whole account by the cloud administrator
    account_policies: tuple[Policy, ...] = ()

    @property
    def arn(self) -> str:
        return user_arn(self.account_number, self.user_path, self.user_name)

    @property
    def is_account_admin(self) -> bool:
        return self.user_name == ADMIN_USER and self.user_path == "/"

    @property
    def is_cloud_admin(self) -> bool:
        return self.is_account_admin and self.account_name == CLOUD_ACCOUNT
