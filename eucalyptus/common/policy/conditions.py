"""Condition operators of the policy language and how one condition is evaluated.

An operator is written ``[ForAnyValue:|ForAllValues:]<Base>[IfExists]``; the base
names are those of :data:`OPERATORS` and are recognised case-insensitively.

Evaluation of one condition (key, policy values) against a request:

* the policy's values are OR'ed: a request value *matches* when it matches any of them;
* ``Null`` is true when the key's presence is what the value says (``true``: absent);
* a key the request lacks makes the condition true with ``IfExists``, true for
  ``ForAllValues`` (the empty set), and false otherwise -- also for negated operators;
* without a set qualifier a positive operator holds when any request value matches,
  a negated one (``StringNotEquals``, ``NotIpAddress``, ...) when none does; with
  ``ForAnyValue`` some request value, with ``ForAllValues`` every request value must
  satisfy the operator (for a negated one: match none of the policy's values).

Policy values are validated when the condition is built (a number for ``Numeric*``,
ISO 8601 or epoch seconds for ``Date*``, CIDR for ``IpAddress``, base64 for
``BinaryEquals``, ``true``/``false`` for ``Bool`` and ``Null``) unless they contain a
policy variable; such a value is substituted and parsed per request, and a request value
that cannot be parsed (or a value whose variable cannot be resolved) matches nothing.
"""

from __future__ import annotations

import base64
import binascii
import enum
import ipaddress
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from eucalyptus.common.policy.matching import Glob, Values, has_variables, substitute


class Family(enum.Enum):
    """How an operator's values are compared."""

    STRING = "string"
    STRING_IGNORE_CASE = "string-ignore-case"
    NUMERIC = "numeric"
    DATE = "date"
    BOOL = "bool"
    BINARY = "binary"
    IP = "ip"
    ARN = "arn"
    NULL = "null"


@dataclass(frozen=True)
class OperatorSpec:
    """A base operator: its family, comparison (eq, lt, le, gt, ge, like) and negation."""

    family: Family
    compare: str
    negated: bool = False


def _family(family: Family, **names: tuple[str, bool]) -> dict[str, OperatorSpec]:
    return {name: OperatorSpec(family, cmp, neg) for name, (cmp, neg) in names.items()}


#: every base operator by its canonical name
OPERATORS: Mapping[str, OperatorSpec] = MappingProxyType(
    {
        **_family(Family.STRING, StringEquals=("eq", False), StringNotEquals=("eq", True)),
        **_family(Family.STRING, StringLike=("like", False), StringNotLike=("like", True)),
        **_family(
            Family.STRING_IGNORE_CASE,
            StringEqualsIgnoreCase=("eq", False),
            StringNotEqualsIgnoreCase=("eq", True),
        ),
        **_family(
            Family.NUMERIC,
            NumericEquals=("eq", False),
            NumericNotEquals=("eq", True),
            NumericLessThan=("lt", False),
            NumericLessThanEquals=("le", False),
            NumericGreaterThan=("gt", False),
            NumericGreaterThanEquals=("ge", False),
        ),
        **_family(
            Family.DATE,
            DateEquals=("eq", False),
            DateNotEquals=("eq", True),
            DateLessThan=("lt", False),
            DateLessThanEquals=("le", False),
            DateGreaterThan=("gt", False),
            DateGreaterThanEquals=("ge", False),
        ),
        **_family(Family.BOOL, Bool=("eq", False)),
        **_family(Family.BINARY, BinaryEquals=("eq", False)),
        **_family(Family.IP, IpAddress=("eq", False), NotIpAddress=("eq", True)),
        **_family(
            Family.ARN,
            ArnEquals=("like", False),
            ArnLike=("like", False),
            ArnNotEquals=("like", True),
            ArnNotLike=("like", True),
        ),
        **_family(Family.NULL, Null=("eq", False)),
    }
)
_CANONICAL = MappingProxyType({name.lower(): name for name in OPERATORS})
_COMPARE: Mapping[str, Callable[[Any, Any], bool]] = MappingProxyType(
    {"eq": operator.eq, "lt": operator.lt, "le": operator.le, "gt": operator.gt, "ge": operator.ge}
)
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_EPOCH = re.compile(r"-?\d+(?:\.\d+)?")


class SetQualifier(enum.Enum):
    """How a condition treats a request key with several values."""

    FOR_ANY_VALUE = "ForAnyValue"
    FOR_ALL_VALUES = "ForAllValues"


@dataclass(frozen=True)
class Operator:
    """A parsed operator name; :attr:`name` is its canonical spelling."""

    base: str
    qualifier: SetQualifier | None = None
    if_exists: bool = False

    @property
    def spec(self) -> OperatorSpec:
        """The base operator's family and comparison."""
        return OPERATORS[self.base]

    @property
    def name(self) -> str:
        """E.g. ``ForAnyValue:StringLikeIfExists``."""
        prefix = f"{self.qualifier.value}:" if self.qualifier else ""
        return f"{prefix}{self.base}{'IfExists' if self.if_exists else ''}"


def parse_operator(text: str) -> Operator:
    """The operator ``text`` names; ValueError saying what is wrong when none."""
    rest, qualifier = text, None
    for candidate in SetQualifier:
        if rest.lower().startswith(candidate.value.lower() + ":"):
            rest, qualifier = rest[len(candidate.value) + 1 :], candidate
            break
    if_exists = False
    base = _CANONICAL.get(rest.lower())
    if base is None and rest.lower().endswith("ifexists"):
        base, if_exists = _CANONICAL.get(rest[: -len("IfExists")].lower()), True
    if base is None:
        raise ValueError(f"unknown condition operator '{text}'")
    if base == "Null" and (if_exists or qualifier):
        raise ValueError(f"condition operator '{text}': Null takes no IfExists or set qualifier")
    return Operator(base, qualifier, if_exists)


def parse_number(text: str) -> Decimal | None:
    """A decimal number, None when ``text`` is not one."""
    return Decimal(text) if _NUMBER.fullmatch(text.strip()) else None


def parse_date(text: str) -> datetime | None:
    """An aware datetime from ISO 8601 (UTC when no zone) or epoch seconds, else None."""
    text = text.strip()
    try:
        if _EPOCH.fullmatch(text):
            return datetime.fromtimestamp(float(text), UTC)
        parsed = datetime.fromisoformat(text)
    except (ValueError, OverflowError, OSError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _parse_bool(text: str) -> str | None:
    lowered = text.strip().lower()
    return lowered if lowered in ("true", "false") else None


def _parse_binary(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def _parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


RequestTest = Callable[[str], bool]


def _static_test(spec: OperatorSpec, text: str) -> RequestTest:
    """A test of one request value against the policy value ``text`` (ValueError if bad)."""
    family = spec.family
    if family is Family.STRING:
        return lambda value: value == text
    if family is Family.STRING_IGNORE_CASE:
        folded = text.casefold()
        return lambda value: value.casefold() == folded
    if family is Family.IP:
        try:
            network = ipaddress.ip_network(text.strip(), strict=False)
        except ValueError:
            raise ValueError(f"'{text}' is not an IP address or CIDR block") from None
        return lambda value: (address := _parse_ip(value)) is not None and address in network
    parsers: dict[Family, tuple[Callable[[str], Any], str]] = {
        Family.NUMERIC: (parse_number, "a number"),
        Family.DATE: (parse_date, "a date (ISO 8601 or epoch seconds)"),
        Family.BOOL: (_parse_bool, "true or false"),
        Family.NULL: (_parse_bool, "true or false"),
        Family.BINARY: (_parse_binary, "base64"),
    }
    parse, expected = parsers[family]
    wanted = parse(text)
    if wanted is None:
        raise ValueError(f"'{text}' is not {expected}")
    compare = _COMPARE[spec.compare]
    return lambda value: (got := parse(value)) is not None and compare(got, wanted)


ValueTest = Callable[[str, Values], bool]


def _value_test(spec: OperatorSpec, text: str, variables: bool) -> ValueTest:
    """A test of one request value against one policy value, variables resolved per request."""
    if spec.compare == "like":
        glob = Glob(text, variables=variables, arn=spec.family is Family.ARN)
        return glob.matches
    if variables and has_variables(text):

        def dynamic(value: str, values: Values) -> bool:
            resolved = substitute(text, values)
            if resolved is None:
                return False
            try:
                test = _static_test(spec, resolved)
            except ValueError:
                return False
            return test(value)

        return dynamic
    test = _static_test(spec, text)
    return lambda value, _values: test(value)


@dataclass(frozen=True)
class Condition:
    """One ``operator: {key: values}`` entry of a statement's Condition block.

    Building one validates the policy values (ValueError naming the bad one).
    """

    operator: Operator
    key: str
    values: tuple[str, ...]
    variables: bool = False
    _tests: tuple[ValueTest, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.values:
            raise ValueError(f"condition {self.operator.name} '{self.key}' has no values")
        tests = []
        for text in self.values:
            try:
                tests.append(_value_test(self.operator.spec, text, self.variables))
            except ValueError as error:
                raise ValueError(f"condition {self.operator.name} '{self.key}': {error}") from None
        object.__setattr__(self, "_tests", tuple(tests))

    def _matches_one(self, value: str, values: Values) -> bool:
        return any(test(value, values) for test in self._tests)

    def matches(self, values: Values) -> bool:
        """Whether the request whose condition values are ``values`` satisfies this."""
        present = values.get(self.key.lower(), ())
        spec = self.operator.spec
        if spec.family is Family.NULL:
            return any((text.strip().lower() == "true") == (not present) for text in self.values)
        qualifier = self.operator.qualifier
        if not present:
            return self.operator.if_exists or qualifier is SetQualifier.FOR_ALL_VALUES
        if qualifier is SetQualifier.FOR_ALL_VALUES:
            return all(self._matches_one(v, values) != spec.negated for v in present)
        if qualifier is SetQualifier.FOR_ANY_VALUE:
            return any(self._matches_one(v, values) != spec.negated for v in present)
        return any(self._matches_one(v, values) for v in present) != spec.negated
