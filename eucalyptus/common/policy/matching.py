"""Wildcard, ARN and policy-variable matching for the policy language.

A *glob* is a pattern in which ``*`` matches any run of characters (also none) and
``?`` exactly one; every other character stands for itself. A glob may be
case-insensitive (actions) or case-sensitive (resources, ``StringLike``). An *ARN glob*
is the same except that in the first five colon-separated segments of an ARN
(``arn:partition:service:region:account:``) the wildcards never cross a ``:``; the
sixth segment, the resource, may contain colons and wildcards match them there.

Policy variables (only in documents of Version 2012-10-17) are written ``${key}`` and
replaced with the single value the request has for ``key`` (keys are matched
case-insensitively), or with the default of ``${key, 'default'}`` when the request has
none. ``${*}``, ``${?}`` and ``${$}`` stand for a literal ``*``, ``?`` and ``$``; the
text a variable is replaced with is always literal, never a wildcard. A variable the
request cannot resolve (no value, several values, and no default) makes the pattern
match nothing.

Request values reach this module as :data:`Values`: a mapping from *lower-case* key
to a tuple of strings.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

#: request condition values by lower-cased key
Values = Mapping[str, tuple[str, ...]]

_TOKEN = re.compile(r"\$\{(?P<var>[^}]*)\}|(?P<star>\*)|(?P<qmark>\?)|(?P<text>[^$*?]+|\$)")
_PLAIN_TOKEN = re.compile(r"(?P<star>\*)|(?P<qmark>\?)|(?P<text>[^*?]+)")
_VARIABLE_BODY = re.compile(
    r"\s*(?P<key>[A-Za-z][A-Za-z0-9_.-]*:[A-Za-z0-9_./-]+)\s*"
    r"(?:,\s*'(?P<default>[^']*)'\s*)?"
)
_LITERAL_VARIABLES = {"*": "*", "?": "?", "$": "$"}


def has_variables(text: str) -> bool:
    """True when ``text`` contains anything written like a policy variable (``${...}``)."""
    return "${" in text


def check_variables(text: str) -> str | None:
    """None when every ``${...}`` in ``text`` is a valid variable, else what is wrong."""
    for match in re.finditer(r"\$\{([^}]*)\}", text):
        body = match.group(1)
        if body not in _LITERAL_VARIABLES and _VARIABLE_BODY.fullmatch(body) is None:
            return f"invalid policy variable '{match.group(0)}'"
    if re.search(r"\$\{[^}]*$", text):
        return f"unterminated policy variable in '{text}'"
    return None


def resolve_variable(body: str, values: Values) -> str | None:
    """The literal text ``${body}`` stands for in a request, None when unresolvable."""
    literal = _LITERAL_VARIABLES.get(body)
    if literal is not None:
        return literal
    match = _VARIABLE_BODY.fullmatch(body)
    if match is None:
        return None
    found = values.get(match.group("key").lower(), ())
    if len(found) == 1:
        return found[0]
    return match.group("default")


def substitute(text: str, values: Values) -> str | None:
    """``text`` with every policy variable replaced; None when one cannot be resolved."""
    parts: list[str] = []
    position = 0
    for match in re.finditer(r"\$\{([^}]*)\}", text):
        resolved = resolve_variable(match.group(1), values)
        if resolved is None:
            return None
        parts.append(text[position : match.start()])
        parts.append(resolved)
        position = match.end()
    parts.append(text[position:])
    return "".join(parts)


def _regex(text: str, *, arn: bool, variables: bool, values: Values) -> str | None:
    """The regular expression for a glob, None when a variable is unresolvable."""
    parts: list[str] = []
    colons = 0  # literal colons seen so far: an ARN's resource part starts after five

    def wild(any_run: bool) -> str:
        confined = arn and colons < 5
        if any_run:
            return "[^:]*" if confined else ".*"
        return "[^:]" if confined else "."

    for match in (_TOKEN if variables else _PLAIN_TOKEN).finditer(text):
        kind = match.lastgroup
        if kind == "star":
            parts.append(wild(True))
        elif kind == "qmark":
            parts.append(wild(False))
        else:
            if kind == "var":
                literal = resolve_variable(match.group("var"), values)
                if literal is None:
                    return None
            else:
                literal = match.group(0)
            colons += literal.count(":")
            parts.append(re.escape(literal))
    return "".join(parts)


@dataclass(frozen=True)
class Glob:
    """A compiled glob; see the module docstring for the pattern language.

    ``variables`` enables policy variables; a glob without any is compiled once, one
    with variables is compiled for each request it is matched against.
    """

    text: str
    ignore_case: bool = False
    variables: bool = False
    arn: bool = False
    _static: re.Pattern[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        static = None
        if not (self.variables and has_variables(self.text)):
            static = self._compile({})
        object.__setattr__(self, "_static", static)

    def _compile(self, values: Values) -> re.Pattern[str] | None:
        source = _regex(self.text, arn=self.arn, variables=self.variables, values=values)
        if source is None:
            return None
        flags = re.DOTALL | (re.IGNORECASE if self.ignore_case else 0)
        return re.compile(source, flags)

    def matches(self, value: str, values: Values | None = None) -> bool:
        """True when ``value`` matches the whole pattern, variables taken from ``values``."""
        if self.text == "*":
            return True
        pattern = self._static if self._static is not None else self._compile(values or {})
        return pattern is not None and pattern.fullmatch(value) is not None
