"""Where things live under the ``$EUCALYPTUS`` install root (default ``/``)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class EucaPaths:
    """The standard layout, rooted at ``root`` so a test or a second cloud can live elsewhere."""

    root: Path

    @classmethod
    def from_env(cls, root: str | Path | None = None) -> EucaPaths:
        return cls(Path(root or os.environ.get("EUCALYPTUS") or "/"))

    @property
    def conf_file(self) -> Path:
        return self.root / "etc/eucalyptus/eucalyptus.conf"

    @property
    def var_lib(self) -> Path:
        return self.root / "var/lib/eucalyptus"

    @property
    def db_dir(self) -> Path:
        return self.var_lib / "db"

    @property
    def keys_dir(self) -> Path:
        return self.var_lib / "keys"

    @property
    def log_dir(self) -> Path:
        return self.root / "var/log/eucalyptus"

    @property
    def run_dir(self) -> Path:
        return self.root / "var/run/eucalyptus"

    def log_file(self, component: str) -> Path:
        return self.log_dir / f"{component}.log"

    def pid_file(self, component: str) -> Path:
        return self.run_dir / f"{component}.pid"

    def make_dirs(self) -> None:
        for directory in (self.var_lib, self.db_dir, self.log_dir, self.run_dir):
            directory.mkdir(parents=True, exist_ok=True)
        self.keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
