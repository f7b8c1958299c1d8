"""A user's shell environment, as the administrator's credentials zip gives it.

``euca_conf --get-credentials`` asks the running CLC for the zip; it is unpacked and its
``eucarc`` sourced by bash with nothing but ``PATH`` and ``HOME`` (a fresh directory) set,
so the tools see exactly what a user who sources eucarc has (plus ``LANG``).
"""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

from tests.support import BIN, Cloud


def get_credentials(cloud: Cloud, directory: Path, *extra: str) -> Path:
    """Unpack a credentials zip into ``directory/creds``; returns that directory."""
    directory.mkdir(parents=True, exist_ok=True)
    zip_path = directory / "creds.zip"
    got = subprocess.run(
        [str(BIN / "euca_conf"), "-d", str(cloud.root), "--get-credentials", str(zip_path),
         *extra],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert got.returncode == 0, got.stderr
    creds = directory / "creds"
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(creds)
    return creds


def eucarc_environment(creds: Path, home: Path) -> dict[str, str]:
    """The environment after ``source eucarc`` in a clean shell whose HOME is ``home``."""
    home.mkdir(parents=True, exist_ok=True)
    # what any login shell has besides: a PATH without the venv (tools are run by their
    # full path) and a UTF-8 locale (s3cmd needs one for non-ASCII names)
    clean = {"PATH": "/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8"}
    out = subprocess.run(
        ["bash", "-c", "source eucarc && env -0"],
        cwd=creds, env=clean, capture_output=True, check=True, timeout=30,
    ).stdout.decode()  # fmt: skip
    env = dict(item.split("=", 1) for item in out.split("\0") if "=" in item)
    env.pop("PWD", None)
    env.pop("OLDPWD", None)
    env.pop("SHLVL", None)
    env.pop("_", None)
    return env
