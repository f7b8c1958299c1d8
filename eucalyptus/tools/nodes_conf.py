"""``NODES`` in ``eucalyptus.conf``, edited in place, and copying key files to hosts.

:func:`edit_nodes` changes only the value of the (last) ``NODES=`` line: indentation, an
``export``, the quoting style, a trailing comment and every other line stay byte for byte
as they were; words of the old value are kept verbatim (``$VAR`` references too). The file
is replaced atomically with its previous mode; on failure it is left as it was.

:func:`copy_keys` puts key files into a host's ``keys`` directory: a local copy when the
host is this machine and the roots differ (nothing when they are the same directory),
else ``rsync -az`` and then ``scp -p`` as ``root@host`` (each can be switched off), with
SSH in batch mode so that a missing key never hangs on a password prompt.
"""

from __future__ import annotations

import contextlib
import errno
import re
import shutil
import socket
import subprocess
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from eucalyptus.common.pki import atomic_write

_NODES_LINE = re.compile(
    r"^(?P<prefix>\s*(?:export\s+)?NODES=)(?P<value>\"[^\"]*\"|'[^']*'|[^\s#]*)(?P<suffix>.*)$"
)
#: files an NC needs from its cluster controller (reference 1.2)
NODE_KEY_FILES = ("node-cert.pem", "node-pk.pem", "cluster-cert.pem", "cloud-cert.pem")
COPY_TIMEOUT = 120.0
SSH_OPTIONS = ("-o", "BatchMode=yes", "-o", "ConnectTimeout=10")


@dataclass(frozen=True)
class NodesChange:
    """What :func:`edit_nodes` did."""

    before: list[str]
    after: list[str]
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    #: asked to add but already there, or asked to remove but absent
    unchanged: list[str] = field(default_factory=list)


def read_nodes(conf_file: Path) -> list[str]:
    """The words of the last ``NODES=`` line (verbatim), or [] without one or a file."""
    try:
        lines = conf_file.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    for line in reversed(lines):
        match = _NODES_LINE.match(line)
        if match:
            return _words(match.group("value"))
    return []


def edit_nodes(
    conf_file: Path, *, add: Sequence[str] = (), remove: Sequence[str] = ()
) -> NodesChange:
    """Add then remove hosts in ``NODES`` (order kept, no duplicates); see module docstring.

    A missing file is created (mode 0644) holding only the ``NODES`` line; a file without
    a ``NODES`` line gets one appended. Nothing is written when nothing changes.
    """
    try:
        text = conf_file.read_text(encoding="utf-8")
        mode = conf_file.stat().st_mode & 0o7777
    except FileNotFoundError:
        text, mode = "", 0o644
    lines = text.splitlines(keepends=True)
    index = next(
        (i for i in range(len(lines) - 1, -1, -1) if _NODES_LINE.match(lines[i].rstrip("\r\n"))),
        None,
    )
    before = [] if index is None else _words(_match(lines[index]).group("value"))
    after = list(before)
    added, removed, unchanged = [], [], []
    for host in add:
        if host in after:
            unchanged.append(host)
        else:
            after.append(host)
            added.append(host)
    for host in remove:
        if host in after:
            after.remove(host)
            removed.append(host)
        else:
            unchanged.append(host)
    change = NodesChange(before, after, added, removed, unchanged)
    if after == before and index is not None:
        return change
    value = '"' + " ".join(after) + '"'
    if index is None:
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        lines.append(f"NODES={value}\n")
    else:
        line = lines[index]
        ending = line[len(line.rstrip("\r\n")) :]
        match = _match(line)
        lines[index] = match.group("prefix") + value + match.group("suffix") + ending
    atomic_write(conf_file, "".join(lines).encode("utf-8"), mode)
    return change


def _match(line: str) -> re.Match[str]:
    match = _NODES_LINE.match(line.rstrip("\r\n"))
    assert match is not None
    return match


def _words(value: str) -> list[str]:
    if value[:1] in ('"', "'"):
        value = value[1:-1]
    return value.split()


# --- copying keys ---------------------------------------------------------------------------


def is_local_host(host: str) -> bool:
    """True when ``host`` names this machine: some address it resolves to can be bound here."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return False
    for family, _type, _proto, _name, address in infos:
        with contextlib.suppress(OSError), socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.bind((address[0], 0))
            return True
    return False


Runner = Callable[[Sequence[str]], "subprocess.CompletedProcess[str]"]


def _run(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(argv), capture_output=True, text=True, timeout=COPY_TIMEOUT, check=False
    )


def copy_keys(
    files: Iterable[Path],
    host: str,
    target_dir: Path,
    *,
    use_rsync: bool = True,
    use_scp: bool = True,
    run: Runner = _run,
) -> str:
    """Copy ``files`` into ``target_dir`` on ``host``; returns one line saying how.

    Raises ``OSError`` (local copy) or ``RuntimeError`` (every remote method failed or
    was switched off), naming what was tried. A failed local copy may leave the files
    copied before it in place; each file itself is replaced atomically.
    """
    sources = list(files)
    missing = [str(path) for path in sources if not path.is_file()]
    if missing:
        raise OSError(errno.ENOENT, f"missing key files: {', '.join(missing)}")
    if is_local_host(host):
        target_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        elsewhere = [p for p in sources if p.parent.resolve() != target_dir.resolve()]
        if not elsewhere:
            return f"{host}: local, keys already in {target_dir}"
        for path in elsewhere:
            atomic_write(target_dir / path.name, path.read_bytes(), path.stat().st_mode & 0o777)
        copied = ", ".join(path.name for path in elsewhere)
        return f"{host}: local, copied {copied} to {target_dir}"
    destination = f"root@{host}:{target_dir}/"
    names = [str(path) for path in sources]
    attempts: list[tuple[str, list[str]]] = []
    if use_rsync and shutil.which("rsync"):
        ssh = "ssh " + " ".join(SSH_OPTIONS)
        attempts.append(("rsync", ["rsync", "-az", "-e", ssh, *names, destination]))
    if use_scp and shutil.which("scp"):
        attempts.append(("scp", ["scp", "-p", *SSH_OPTIONS, *names, destination]))
    if not attempts:
        raise RuntimeError(f"{host}: no way to copy keys (rsync/scp switched off or missing)")
    failures = []
    for method, argv in attempts:
        try:
            result = run(argv)
        except (OSError, subprocess.TimeoutExpired) as exc:
            failures.append(f"{method}: {exc}")
            continue
        if result.returncode == 0:
            return f"{host}: copied {len(sources)} files to {destination} with {method}"
        detail = (result.stderr or result.stdout).strip().splitlines()
        failures.append(f"{method} exited {result.returncode}: {detail[-1] if detail else ''}")
    raise RuntimeError(f"{host}: could not copy keys ({'; '.join(failures)})")
