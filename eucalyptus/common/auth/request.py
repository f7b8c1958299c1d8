"""The parts of an HTTP request that request authentication looks at.

The HTTP layer (aiohttp, or a test) fills an :class:`HttpRequestParts`; nothing in
:mod:`eucalyptus.common.auth` touches a socket or a framework object.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import unquote_plus


def _lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Lower-case header names; a repeated header (a multidict) is joined with ','."""
    items: Iterable[tuple[str, str]] = headers.items()
    lowered: dict[str, str] = {}
    for name, value in items:
        key = name.lower()
        lowered[key] = f"{lowered[key]},{value}" if key in lowered else value
    return lowered


def parse_query(query_string: str) -> tuple[tuple[str, str], ...]:
    """Decode a raw query string into (name, value) pairs, in order.

    ``+`` means space (form encoding), blank values are kept and a name without
    ``=`` gets the empty value. Invalid percent escapes are left as they are.
    """
    pairs: list[tuple[str, str]] = []
    for piece in query_string.split("&"):
        if not piece:
            continue
        name, _, value = piece.partition("=")
        pairs.append((unquote_plus(name), unquote_plus(value)))
    return tuple(pairs)


@dataclass(frozen=True)
class HttpRequestParts:
    """One HTTP request as received.

    ``raw_path`` is the path exactly as on the wire (still percent-encoded, no
    query); ``query_string`` is the raw query without ``?``; ``headers`` may use
    any case (and may be a multidict: repeated headers are joined with ``,``);
    ``body`` is the whole body, already size-limited by the caller; ``form`` holds
    the decoded ``application/x-www-form-urlencoded`` body parameters, if any.
    """

    method: str
    raw_path: str
    query_string: str
    headers: Mapping[str, str]
    body: bytes
    form: Sequence[tuple[str, str]] = ()
    _lower: dict[str, str] = field(init=False, repr=False, compare=False)
    _query: tuple[tuple[str, str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_lower", _lower_headers(self.headers))
        object.__setattr__(self, "_query", parse_query(self.query_string))

    def header(self, name: str) -> str | None:
        """The value of a header, looked up case-insensitively; None if absent."""
        return self._lower.get(name.lower())

    @property
    def lower_headers(self) -> Mapping[str, str]:
        """All headers keyed by lower-case name."""
        return self._lower

    @property
    def query(self) -> tuple[tuple[str, str], ...]:
        """The decoded query-string parameters, in order."""
        return self._query

    def query_value(self, name: str) -> str | None:
        """The first query parameter called exactly ``name``; None if absent."""
        for key, value in self._query:
            if key == name:
                return value
        return None
