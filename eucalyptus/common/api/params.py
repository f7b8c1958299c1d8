"""Query-protocol parameters: ``Action``, ``Version`` and indexed lists.

AWS Query APIs flatten lists and structures into numbered names: ``InstanceId.1``,
``Filter.1.Name``, ``Filter.1.Value.2``; IAM uses ``Names.member.1``. This class
reads them back in index order and turns absent or malformed values into the
right AWS errors.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from eucalyptus.common.errors import InvalidParameterValue, MissingParameter

_INDEX = re.compile(r"^(?:member\.)?(\d+)(?:\.(.*))?$")


class QueryParams:
    """The decoded parameters of one request (query string plus form body)."""

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        self._values: dict[str, str] = {}
        for key, value in pairs:
            # the first occurrence wins, as AWS does with repeated parameters
            self._values.setdefault(key, value)

    def __contains__(self, name: str) -> bool:
        return name in self._values

    def items(self) -> list[tuple[str, str]]:
        return list(self._values.items())

    @property
    def action(self) -> str:
        return self._values.get("Action", "")

    @property
    def version(self) -> str:
        return self._values.get("Version", "")

    def get(self, name: str, default: str | None = None) -> str | None:
        return self._values.get(name, default)

    def require(self, name: str) -> str:
        value = self._values.get(name)
        if value is None or value == "":
            raise MissingParameter(f"The request must contain the parameter {name}")
        return value

    def get_int(
        self,
        name: str,
        default: int | None = None,
        *,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> int | None:
        raw = self._values.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise InvalidParameterValue(
                f"Invalid value {raw!r} for {name}: not an integer"
            ) from None
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            bounds = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
            raise InvalidParameterValue(f"Value {value} for {name} must be {bounds}")
        return value

    def get_bool(self, name: str, default: bool = False) -> bool:
        raw = self._values.get(name)
        if raw is None or raw == "":
            return default
        lowered = raw.lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0"):
            return False
        raise InvalidParameterValue(f"Invalid value {raw!r} for {name}: expected true or false")

    def get_list(self, prefix: str) -> list[str]:
        """``Prefix.1``, ``Prefix.2`` ... (or ``Prefix.member.N``) in index order."""
        found: dict[int, str] = {}
        dotted = prefix + "."
        for key, value in self._values.items():
            if key.startswith(dotted):
                match = _INDEX.match(key[len(dotted) :])
                if match and match.group(2) is None:
                    found[int(match.group(1))] = value
        return [found[i] for i in sorted(found)]

    def get_structs(self, prefix: str) -> list[dict[str, Any]]:
        """``Filter.1.Name`` / ``Filter.1.Value.2`` -> [{"Name": ..., "Value": [...]}]."""
        groups: dict[int, dict[str, str]] = {}
        dotted = prefix + "."
        for key, value in self._values.items():
            if not key.startswith(dotted):
                continue
            match = _INDEX.match(key[len(dotted) :])
            if match and match.group(2):
                groups.setdefault(int(match.group(1)), {})[match.group(2)] = value
        result: list[dict[str, Any]] = []
        for index in sorted(groups):
            sub = QueryParams(groups[index].items())
            struct: dict[str, Any] = {}
            for name in {k.split(".", 1)[0] for k in groups[index]}:
                if name in groups[index]:
                    struct[name] = groups[index][name]
                else:
                    nested = sub.get_list(name)
                    struct[name] = nested if nested else sub.get_structs(name)
            result.append(struct)
        return result
