"""Parse and validate a JSON policy document into an immutable :class:`Policy`.

Every problem raises :class:`MalformedPolicyDocument` with a message naming it, those
about one statement prefixed ``Statement N:`` (counting from 1).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from decimal import Decimal
from typing import NoReturn

from eucalyptus.common.errors import MalformedPolicyDocument
from eucalyptus.common.policy.conditions import Condition, Operator, parse_operator
from eucalyptus.common.policy.document import (
    VARIABLES_VERSION,
    Effect,
    Policy,
    Principal,
    Statement,
)
from eucalyptus.common.policy.keys import QUOTA_OPERATOR, looks_like_quota_key, quota_key
from eucalyptus.common.policy.matching import check_variables

#: Versions AWS accepts; Eucalyptus 3's own tools also write "2011-04-01"
_VERSIONS = ("2012-10-17", "2008-10-17")
_LEGACY_VERSIONS = ("2011-04-01",)
_TOP_ELEMENTS = ("Version", "Id", "Statement")
_STATEMENT_ELEMENTS = (
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
)
_PRINCIPAL_TYPES = ("AWS", "Service", "Federated", "CanonicalUser")
_ACTION = re.compile(r"\*|[A-Za-z0-9_-]+:[A-Za-z0-9_*?-]+")
_CONDITION_KEY = re.compile(r"[A-Za-z0-9_.-]+:\S+")
_QUOTA_VALUE = re.compile(r"[0-9]+")

ConditionEntry = tuple[Operator, str, tuple[str, ...]]


def _fail(message: str) -> NoReturn:
    raise MalformedPolicyDocument(message)


def _load_json(document: str) -> object:
    def pairs(items: list[tuple[str, object]]) -> dict[str, object]:
        result: dict[str, object] = {}
        for key, value in items:
            if key in result:
                _fail(f"Syntax errors in policy: duplicate element '{key}'")
            result[key] = value
        return result

    def constant(name: str) -> NoReturn:
        _fail(f"Syntax errors in policy: {name} is not valid JSON")

    try:
        loaded: object = json.loads(
            document, object_pairs_hook=pairs, parse_float=Decimal, parse_constant=constant
        )
    except json.JSONDecodeError as error:
        _fail(f"Syntax errors in policy: line {error.lineno} column {error.colno} ({error.msg})")
    except RecursionError:
        _fail("Syntax errors in policy: nesting too deep")
    return loaded


def _scalar(raw: object) -> str | None:
    """A condition value as a string; None for anything but a string, number or boolean."""
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, str | int | Decimal):
        return str(raw)
    return None


def parse_policy(
    document: str,
    *,
    max_length: int | None = None,
    resource_policy: bool = False,
    allow_limit: bool = True,
) -> Policy:
    """Parse ``document`` (JSON text) into a Policy, or raise MalformedPolicyDocument.

    ``max_length`` bounds the text's length in characters. An identity policy
    (the default) refuses Principal and NotPrincipal; a ``resource_policy`` requires
    one of them in every statement. ``allow_limit=False`` refuses Limit (quota)
    statements. Policy variables are substituted only for Version 2012-10-17.
    """
    if max_length is not None and len(document) > max_length:
        _fail(f"Policy document exceeds {max_length} characters")
    if not document.strip():
        _fail("Policy document is empty")
    tree = _load_json(document)
    if not isinstance(tree, dict):
        _fail("Policy document must be a JSON object")
    for name in tree:
        if name not in _TOP_ELEMENTS:
            _fail(f"Unknown element '{name}' in policy document")
    version = tree.get("Version")
    if version is not None and (
        not isinstance(version, str) or version not in _VERSIONS + _LEGACY_VERSIONS
    ):
        _fail(f"Version must be {' or '.join(_VERSIONS)}, not {json.dumps(version, default=str)}")
    policy_id = tree.get("Id")
    if policy_id is not None and not isinstance(policy_id, str):
        _fail("Id must be a string")
    if "Statement" not in tree:
        _fail("Policy document has no Statement")
    raw_statements = tree["Statement"]
    if isinstance(raw_statements, dict):
        raw_statements = [raw_statements]
    if not isinstance(raw_statements, list):
        _fail("Statement must be an object or a list of objects")
    if not raw_statements:
        _fail("Statement list must not be empty")
    parse = _StatementParser(version == VARIABLES_VERSION, resource_policy, allow_limit)
    statements = tuple(parse(number, raw) for number, raw in enumerate(raw_statements, 1))
    sids: dict[str, int] = {}
    for number, statement in enumerate(statements, 1):
        if statement.sid is not None:
            if statement.sid in sids:
                _fail(
                    f"Statement {number}: Sid '{statement.sid}' is already used by statement "
                    f"{sids[statement.sid]}"
                )
            sids[statement.sid] = number
    return Policy(statements, version, policy_id)


class _StatementParser:
    """Parses one statement at a time; ``self.where`` prefixes every message."""

    def __init__(self, variables: bool, resource_policy: bool, allow_limit: bool) -> None:
        self.variables = variables
        self.resource_policy = resource_policy
        self.allow_limit = allow_limit
        self.where = ""

    def fail(self, message: str) -> NoReturn:
        _fail(f"{self.where}: {message}")

    def __call__(self, number: int, raw: object) -> Statement:
        self.where = f"Statement {number}"
        if not isinstance(raw, dict):
            _fail(f"{self.where} must be a JSON object")
        for name in raw:
            if name not in _STATEMENT_ELEMENTS:
                self.fail(f"unknown element '{name}'")
        sid = raw.get("Sid")
        if sid is not None and not isinstance(sid, str):
            self.fail("Sid must be a string")
        effect = self._effect(raw)
        principal_element, principals = self._principals(raw)
        action_element, actions = self._pair(raw, "Action", "NotAction", self._check_action)
        resource_element, resources = self._pair(
            raw, "Resource", "NotResource", self._check_resource
        )
        entries = self._conditions(raw.get("Condition"))
        self._check_quotas(effect, entries)
        try:
            conditions = tuple(
                Condition(operator, key, values, self.variables)
                for operator, key, values in entries
            )
        except ValueError as error:
            self.fail(str(error))
        return Statement(
            effect=effect,
            actions=actions,
            resources=resources,
            not_action=action_element == "NotAction",
            not_resource=resource_element == "NotResource",
            conditions=conditions,
            sid=sid,
            principals=principals,
            not_principal=principal_element == "NotPrincipal",
            variables=self.variables,
        )

    def _effect(self, raw: dict[str, object]) -> Effect:
        if "Effect" not in raw:
            self.fail("Effect is missing")
        allowed = [Effect.ALLOW, Effect.DENY] + ([Effect.LIMIT] if self.allow_limit else [])
        for effect in allowed:
            if raw["Effect"] == effect.value:
                return effect
        names = [effect.value for effect in allowed]
        self.fail(f"Effect must be {', '.join(names[:-1])} or {names[-1]}")

    def _strings(self, raw: object, element: str) -> tuple[str, ...]:
        items = [raw] if isinstance(raw, str) else raw
        if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
            self.fail(f"{element} must be a string or a list of strings")
        if not items:
            self.fail(f"{element} must not be empty")
        return tuple(str(item) for item in items)

    def _pair(
        self, raw: dict[str, object], name: str, not_name: str, check: Callable[[str, str], None]
    ) -> tuple[str, tuple[str, ...]]:
        if name in raw and not_name in raw:
            self.fail(f"{name} and {not_name} cannot both be present")
        if name not in raw and not_name not in raw:
            self.fail(f"one of {name} or {not_name} is required")
        element = name if name in raw else not_name
        values = self._strings(raw[element], element)
        for value in values:
            check(element, value)
        return element, values

    def _check_action(self, element: str, action: str) -> None:
        if not _ACTION.fullmatch(action):
            self.fail(f"{element} '{action}' is not valid (expected vendor:Name or *)")

    def _check_resource(self, element: str, resource: str) -> None:
        if resource != "*" and not (
            resource.startswith("arn:") and len(resource.split(":", 5)) == 6
        ):
            self.fail(
                f"{element} '{resource}' must be * or an ARN "
                "(arn:partition:service:region:account:resource)"
            )
        self._check_variables(resource)

    def _check_variables(self, text: str) -> None:
        if self.variables and (problem := check_variables(text)):
            self.fail(problem)

    def _principals(
        self, raw: dict[str, object]
    ) -> tuple[str | None, tuple[Principal, ...] | None]:
        present = [name for name in ("Principal", "NotPrincipal") if name in raw]
        if present and not self.resource_policy:
            self.fail(f"{present[0]} is not allowed in an identity policy")
        if not self.resource_policy:
            return None, None
        if len(present) != 1:
            self.fail("exactly one of Principal or NotPrincipal is required in a resource policy")
        element = present[0]
        value = raw[element]
        if value == "*":
            return element, (Principal("*", "*"),)
        if not isinstance(value, dict) or not value:
            self.fail(f'{element} must be "*" or an object such as {{"AWS": [...]}}')
        principals: list[Principal] = []
        for kind, identifiers in value.items():
            if kind not in _PRINCIPAL_TYPES:
                self.fail(f"{element} type '{kind}' is not one of {', '.join(_PRINCIPAL_TYPES)}")
            principals.extend(
                Principal(kind, item) for item in self._strings(identifiers, f"{element} {kind}")
            )
        return element, tuple(principals)

    def _conditions(self, raw: object) -> list[ConditionEntry]:
        if raw is None:
            return []
        if not isinstance(raw, dict):
            self.fail("Condition must be a JSON object")
        entries: list[ConditionEntry] = []
        for name, block in raw.items():
            try:
                operator = parse_operator(name)
            except ValueError as error:
                self.fail(str(error))
            if not isinstance(block, dict) or not block:
                self.fail(f"condition operator {name} must map condition keys to values")
            for key, raw_values in block.items():
                if not _CONDITION_KEY.fullmatch(key):
                    self.fail(f"condition key '{key}' must be written vendor:name")
                items = raw_values if isinstance(raw_values, list) else [raw_values]
                values = tuple(_scalar(item) for item in items)
                if not values:
                    self.fail(f"condition {operator.name} '{key}' has no values")
                strings: list[str] = []
                for value in values:
                    if value is None:
                        self.fail(
                            f"condition {operator.name} '{key}': values must be strings, "
                            "numbers or booleans"
                        )
                    self._check_variables(value)
                    strings.append(value)
                entries.append((operator, key, tuple(strings)))
        return entries

    def _check_quotas(self, effect: Effect, entries: list[ConditionEntry]) -> None:
        if effect is not Effect.LIMIT:
            for _, key, _ in entries:
                if quota_key(key) or looks_like_quota_key(key):
                    self.fail(f"quota key '{key}' is only allowed in a Limit statement")
            return
        if not entries:
            self.fail(f"a Limit statement needs a {QUOTA_OPERATOR} condition on a quota key")
        for operator, key, values in entries:
            if quota_key(key) is None:
                self.fail(f"'{key}' is not a known quota key")
            if operator.name != QUOTA_OPERATOR:
                self.fail(f"quota key '{key}' takes only {QUOTA_OPERATOR}, not {operator.name}")
            if len(values) != 1 or not _QUOTA_VALUE.fullmatch(values[0]):
                shown = values[0] if len(values) == 1 else list(values)
                self.fail(f"quota '{key}' must be a non-negative integer, not '{shown}'")
