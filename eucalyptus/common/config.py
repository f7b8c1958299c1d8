"""Reading ``eucalyptus.conf``: shell-style ``KEY="value"`` lines, typed access.

The file is a shell fragment in the original, so we accept what an administrator
writes by hand: comments, blank lines, an optional ``export``, double, single or
no quotes, and ``$VAR`` / ``${VAR}`` references to keys defined earlier in the same
file (or to ``EUCALYPTUS``). We never execute the file.

Errors name the key, the file and the line, e.g.
``/etc/eucalyptus/eucalyptus.conf:12: NC_PORT="abc" is not an integer``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from eucalyptus.common.errors import ConfigError

_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$")
_REFERENCE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")
_TRUE = {"y", "yes", "true", "1", "on"}
_FALSE = {"n", "no", "false", "0", "off"}


@dataclass(frozen=True)
class Setting:
    """One value and where it came from (for error messages)."""

    value: str
    source: str
    line: int


class EucaConf:
    """Typed, read-only access to the settings of one ``eucalyptus.conf``."""

    def __init__(self, settings: Mapping[str, Setting], source: str = "<defaults>") -> None:
        self._settings = dict(settings)
        self.source = source

    @classmethod
    def load(cls, path: Path | str, *, missing_ok: bool = True) -> EucaConf:
        """Read a file; a missing file gives an empty configuration when ``missing_ok``."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            if missing_ok:
                return cls({}, str(path))
            raise ConfigError(f"{path}: no such configuration file") from None
        return cls.parse(text, str(path))

    @classmethod
    def parse(cls, text: str, source: str = "<string>") -> EucaConf:
        settings: dict[str, Setting] = {}
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            match = _LINE.match(line)
            if not match:
                raise ConfigError(f"{source}:{number}: cannot read this line: {raw.strip()!r}")
            key, rest = match.group(1), match.group(2).strip()
            value = _unquote(rest, source, number, key)
            if not rest.startswith("'"):
                value = _expand(value, settings)
            settings[key] = Setting(value, source, number)
        return cls(settings, source)

    def with_overrides(self, overrides: Mapping[str, str]) -> EucaConf:
        """A copy with some keys replaced (tests, command-line flags)."""
        merged = dict(self._settings)
        for key, value in overrides.items():
            merged[key] = Setting(value, "<override>", 0)
        return EucaConf(merged, self.source)

    def __contains__(self, key: str) -> bool:
        return key in self._settings

    def keys(self) -> list[str]:
        return sorted(self._settings)

    def _where(self, key: str) -> str:
        setting = self._settings[key]
        return f"{setting.source}:{setting.line}: {key}={setting.value!r}"

    def get_str(self, key: str, default: str = "") -> str:
        setting = self._settings.get(key)
        return default if setting is None else setting.value

    def get_int(
        self, key: str, default: int, *, minimum: int | None = None, maximum: int | None = None
    ) -> int:
        setting = self._settings.get(key)
        if setting is None or setting.value == "":
            return default
        try:
            value = int(setting.value, 10)
        except ValueError:
            raise ConfigError(f"{self._where(key)} is not an integer") from None
        if minimum is not None and value < minimum:
            raise ConfigError(f"{self._where(key)} is below the minimum {minimum}")
        if maximum is not None and value > maximum:
            raise ConfigError(f"{self._where(key)} is above the maximum {maximum}")
        return value

    def get_bool(self, key: str, default: bool) -> bool:
        setting = self._settings.get(key)
        if setting is None or setting.value == "":
            return default
        lowered = setting.value.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ConfigError(f"{self._where(key)} is not a yes/no value (Y, N, true, false, 1, 0)")

    def get_choice(self, key: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.get_str(key, default) or default
        if value not in choices:
            raise ConfigError(f"{self._where(key)} must be one of {', '.join(choices)}")
        return value

    def get_list(self, key: str) -> list[str]:
        """Whitespace-separated words, as NODES="host1 host2" is written."""
        return self.get_str(key).split()


def _unquote(rest: str, source: str, number: int, key: str) -> str:
    if rest[:1] in ('"', "'"):
        quote = rest[0]
        end = rest.find(quote, 1)
        if end < 0:
            raise ConfigError(f"{source}:{number}: {key}: unterminated {quote} quote")
        tail = rest[end + 1 :].strip()
        if tail and not tail.startswith("#"):
            raise ConfigError(f"{source}:{number}: {key}: unexpected text after the value")
        return rest[1:end]
    value = rest.split(" #", 1)[0].strip()
    if " " in value:
        raise ConfigError(f"{source}:{number}: {key}: a value with spaces must be quoted")
    return value


def _expand(value: str, settings: Mapping[str, Setting]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name in settings:
            return settings[name].value
        return os.environ.get(name, "") if name == "EUCALYPTUS" else ""

    return _REFERENCE.sub(replace, value)
