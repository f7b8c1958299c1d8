"""Message types, declared once and used by both ends of a SOAP call.

A message (or a nested structure) is a keyword-only dataclass made with :func:`message`.
The field's type hint drives its wire form:

=====================  ===========================================================
``str``                text as is
``Literal["a", ...]``  text, which must be one of the listed strings
``int``                decimal integer (``bool`` is not accepted as an int)
``bool``               ``true`` / ``false`` (``1`` / ``0`` also read)
``float``              decimal or exponent notation, ``INF``, ``-INF``, ``NaN``
``bytes``              base64
``datetime``           ISO 8601; written in UTC with ``Z``; read without an offset as UTC;
                       a naive datetime cannot be written
a ``@message`` class   a nested element holding that class's fields
``list[X]``            the element repeated once per item (absent when empty)
``X | None``           the element is absent (or ``xsi:nil``) when the value is None
=====================  ===========================================================

Python names are snake_case; the wire name is the lowerCamelCase form with any trailing
underscore dropped (``correlation_id`` -> ``correlationId``), or the ``"wire"`` entry of the
field's metadata. Every element is in the ``http://eucalyptus.ucsb.edu/`` namespace.

Decoding (:func:`from_xml`) raises :class:`InvalidParameterValue`, naming the field's path,
when a value is malformed, a required field is missing, or a single-valued element is
repeated; unknown elements are ignored. Encoding (:func:`to_xml`) raises ``TypeError`` or
``ValueError`` for values that do not match their declaration: that is the sender's bug.
Nothing is left behind by either on failure.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import math
import re
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar, Union, dataclass_transform, get_args, get_origin

from lxml import etree

from eucalyptus.common.errors import InvalidParameterValue
from eucalyptus.common.soap.codec import EUCA_NS, euca

T = TypeVar("T")

_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
_INT = re.compile(r"[+-]?\d{1,20}")
_FLOAT = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d{1,4})?|[+-]?INF|NaN")
_PLAN_ATTR = "_soap_plan"


@dataclass_transform(kw_only_default=True, field_specifiers=(dataclasses.field,))
def message(cls: type[T]) -> type[T]:
    """Make ``cls`` a keyword-only dataclass usable as a SOAP message or nested structure."""
    return dataclass(kw_only=True)(cls)


@message
class EucalyptusMessage:
    """The fields every request and response carries (reference section 2.1)."""

    correlation_id: str | None = None
    user_id: str | None = None
    status_message: str | None = None
    return_: bool = field(default=True, metadata={"wire": "return"})
    epoch: int | None = None
    node_name: str | None = None


def wire_name(python_name: str) -> str:
    """``snake_case`` -> ``lowerCamelCase``, dropping a trailing underscore."""
    head, *rest = python_name.rstrip("_").split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


# --- scalar codecs ------------------------------------------------------------------------


def _enc_str(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected str, got {type(value).__name__}")
    return value


def _enc_int(value: object) -> str:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"expected int, got {type(value).__name__}")
    return str(value)


def _enc_bool(value: object) -> str:
    if not isinstance(value, bool):
        raise TypeError(f"expected bool, got {type(value).__name__}")
    return "true" if value else "false"


def _enc_float(value: object) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise TypeError(f"expected float, got {type(value).__name__}")
    number = float(value)
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "INF" if number > 0 else "-INF"
    return repr(number)


def _enc_bytes(value: object) -> str:
    if not isinstance(value, bytes | bytearray):
        raise TypeError(f"expected bytes, got {type(value).__name__}")
    return base64.b64encode(value).decode("ascii")


def _enc_datetime(value: object) -> str:
    if not isinstance(value, datetime):
        raise TypeError(f"expected datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("a naive datetime cannot be written; give it a timezone")
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _dec_str(text: str) -> str:
    return text


def _dec_int(text: str) -> int:
    if not _INT.fullmatch(text.strip()):
        raise ValueError("expected an integer")
    return int(text)


def _dec_bool(text: str) -> bool:
    value = text.strip()
    if value in ("true", "1"):
        return True
    if value in ("false", "0"):
        return False
    raise ValueError("expected true or false")


def _dec_float(text: str) -> float:
    value = text.strip()
    if not _FLOAT.fullmatch(value):
        raise ValueError("expected a number")
    return float(value.replace("INF", "inf"))


def _dec_bytes(text: str) -> bytes:
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except binascii.Error:
        raise ValueError("expected base64") from None


def _dec_datetime(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError("expected an ISO 8601 date and time") from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


_Codec = tuple[Callable[[object], str], Callable[[str], Any]]
_SCALARS: Mapping[type, _Codec] = types.MappingProxyType(
    {
        str: (_enc_str, _dec_str),
        int: (_enc_int, _dec_int),
        bool: (_enc_bool, _dec_bool),
        float: (_enc_float, _dec_float),
        bytes: (_enc_bytes, _dec_bytes),
        datetime: (_enc_datetime, _dec_datetime),
    }
)


# --- the per-class plan, derived once from the type hints ---------------------------------


@dataclass(frozen=True)
class _Field:
    name: str
    wire: str
    tag: str
    py_type: type
    choices: tuple[str, ...] | None
    many: bool
    optional: bool
    required: bool

    @property
    def nested(self) -> bool:
        return dataclasses.is_dataclass(self.py_type)


def _analyse(owner: type, name: str, hint: Any) -> tuple[type, tuple[str, ...] | None, bool, bool]:
    """(python type, literal choices, many, optional) for a field's hint, or TypeError."""
    where = f"{owner.__name__}.{name}"
    optional = many = False
    if get_origin(hint) in (Union, types.UnionType):
        args = get_args(hint)
        present = [arg for arg in args if arg is not type(None)]
        if len(present) != 1 or len(args) != 2:
            raise TypeError(f"{where}: only `X | None` unions are supported, not {hint!r}")
        optional, hint = True, present[0]
    if get_origin(hint) is list:
        if optional:
            raise TypeError(f"{where}: use list[X] (empty when absent), not list[X] | None")
        many, hint = True, get_args(hint)[0]
    choices: tuple[str, ...] | None = None
    if get_origin(hint) is Literal:
        choices = get_args(hint)
        if not all(isinstance(choice, str) for choice in choices):
            raise TypeError(f"{where}: only string literals are supported")
        hint = str
    if not isinstance(hint, type) or not (hint in _SCALARS or dataclasses.is_dataclass(hint)):
        raise TypeError(f"{where}: unsupported field type {hint!r}")
    return hint, choices, many, optional


def _plan(cls: type) -> tuple[_Field, ...]:
    cached = vars(cls).get(_PLAN_ATTR)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls.__name__} is not a @message dataclass")
    hints = typing.get_type_hints(cls)
    plan: list[_Field] = []
    for spec in dataclasses.fields(cls):
        if not spec.init:
            continue
        py_type, choices, many, optional = _analyse(cls, spec.name, hints[spec.name])
        wire = spec.metadata.get("wire", wire_name(spec.name))
        required = (
            spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING
        )
        plan.append(_Field(spec.name, wire, euca(wire), py_type, choices, many, optional, required))
    result = tuple(plan)
    setattr(cls, _PLAN_ATTR, result)
    return result


def check_message_type(cls: type) -> None:
    """Raise ``TypeError`` unless ``cls`` and every type nested in it can be encoded."""
    seen: set[type] = set()
    pending = [cls]
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        pending.extend(f.py_type for f in _plan(current) if f.nested)


# --- encoding -----------------------------------------------------------------------------


def to_xml(obj: object, element: str | None = None) -> etree._Element:
    """The element ``euca:<element>`` (default: the class name) holding ``obj``'s fields."""
    if not dataclasses.is_dataclass(obj) or isinstance(obj, type):
        raise TypeError(f"{obj!r} is not a @message instance")
    root = etree.Element(euca(element or type(obj).__name__), nsmap={"euca": EUCA_NS})
    _fill(root, obj, type(obj).__name__)
    return root


def _fill(parent: etree._Element, obj: object, path: str) -> None:
    for spec in _plan(type(obj)):
        value = getattr(obj, spec.name)
        where = f"{path}.{spec.wire}"
        if spec.many:
            if not isinstance(value, list | tuple):
                raise TypeError(f"{where}: expected a list, got {type(value).__name__}")
            for index, item in enumerate(value):
                _put(etree.SubElement(parent, spec.tag), spec, item, f"{where}[{index}]")
        elif value is None:
            if not spec.optional:
                raise TypeError(f"{where}: required, but None")
        else:
            _put(etree.SubElement(parent, spec.tag), spec, value, where)


def _put(elem: etree._Element, spec: _Field, value: object, where: str) -> None:
    if spec.nested:
        if not isinstance(value, spec.py_type):
            raise TypeError(f"{where}: expected {spec.py_type.__name__}, got {value!r}")
        _fill(elem, value, where)
        return
    try:
        text = _SCALARS[spec.py_type][0](value)
        if spec.choices is not None and text not in spec.choices:
            raise ValueError(f"{text!r} is not one of {', '.join(spec.choices)}")
        elem.text = text
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{where}: {exc}") from None


# --- decoding -----------------------------------------------------------------------------


def from_xml(cls: type[T], elem: etree._Element) -> T:
    """Build a ``cls`` from the children of ``elem`` (whose own name is not checked)."""
    check_message_type(cls)
    return _build(cls, elem, elem.tag.rpartition("}")[2])


def _bad(where: str, reason: str) -> InvalidParameterValue:
    return InvalidParameterValue(f"{where}: {reason}")


def _build(cls: type[T], elem: etree._Element, path: str) -> T:
    groups: dict[str, list[etree._Element]] = {}
    for child in elem.iterchildren("*"):
        groups.setdefault(child.tag, []).append(child)
    kwargs: dict[str, Any] = {}
    for spec in _plan(cls):
        found = groups.get(spec.tag, [])
        where = f"{path}.{spec.wire}"
        if spec.many:
            kwargs[spec.name] = [_get(spec, e, f"{where}[{i}]") for i, e in enumerate(found)]
        elif len(found) > 1:
            raise _bad(where, f"appears {len(found)} times, expected at most once")
        elif not found:
            if spec.required and not spec.optional:
                raise _bad(where, "required field is missing")
            if spec.required:
                kwargs[spec.name] = None
        elif found[0].get(_NIL) in ("true", "1"):
            if not spec.optional:
                raise _bad(where, "is nil, but the field is not optional")
            kwargs[spec.name] = None
        else:
            kwargs[spec.name] = _get(spec, found[0], where)
    return cls(**kwargs)


def _get(spec: _Field, elem: etree._Element, where: str) -> Any:
    if spec.nested:
        return _build(spec.py_type, elem, where)
    if next(elem.iterchildren("*"), None) is not None:
        raise _bad(where, "a simple value must not contain elements")
    text = elem.text or ""
    try:
        value = _SCALARS[spec.py_type][1](text)
    except ValueError as exc:
        shown = text if len(text) <= 64 else text[:61] + "..."
        raise _bad(where, f"{exc}, got {shown!r}") from None
    if spec.choices is not None and value not in spec.choices:
        raise _bad(where, f"{value!r} is not one of {', '.join(spec.choices)}")
    return value
