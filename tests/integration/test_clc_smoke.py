"""The CLC daemon answers boto3 over HTTP with the admin's credentials."""

from __future__ import annotations

from typing import Any


def test_admin_get_user_returns_the_cloud_admin(admin_iam: Any) -> None:
    user = admin_iam.get_user()["User"]
    assert user["UserName"] == "admin"
    assert user["Arn"].endswith(":user/admin")
