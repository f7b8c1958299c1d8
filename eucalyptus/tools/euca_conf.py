"""``euca_conf``: set up the cloud, register components, list them, fetch credentials.

The flags are those of Eucalyptus 3.x (reference 8.5). ``--initialize`` works with the CLC
stopped (database and key files directly). ``--register-nodes``/``--deregister-nodes`` run
on the cluster controller: they edit ``NODES`` in the local ``eucalyptus.conf`` and copy
the node keys, with no CLC call. Everything else talks to the running CLC's
``/services/Configuration`` over SOAP signed with ``keys/cloud-pk.pem``, so it runs on the
CLC host. On failure: exit code 1 and one line on stderr; usage errors exit 2.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy.exc import SQLAlchemyError

from eucalyptus.clc.initialize import (
    AlreadyInitialized,
    cloud_cert_path,
    cloud_key_path,
    initialize_cloud,
)
from eucalyptus.common.config import EucaConf
from eucalyptus.common.errors import AwsError, ConfigError, SoapFault
from eucalyptus.common.paths import EucaPaths
from eucalyptus.common.pki import atomic_write
from eucalyptus.common.soap.client import SoapClient
from eucalyptus.common.soap.configuration_msgs import (
    DEREGISTER_COMPONENT,
    DESCRIBE_COMPONENTS,
    REGISTER_COMPONENT,
    ComponentRecord,
    ComponentType,
    DeregisterComponentType,
    DescribeComponentsType,
    RegisterComponentType,
)
from eucalyptus.common.soap.credentials_msgs import (
    CLC_CONFIGURATION_SERVICE,
    GET_CREDENTIALS,
    GetCredentialsType,
)
from eucalyptus.common.soap.errors import ComponentTimeout, ComponentUnreachable
from eucalyptus.common.soap.security import ComponentKey
from eucalyptus.tools import nodes_conf

PROG = "euca_conf"
DEFAULT_CLC_PORT = 8773
DEFAULT_PORTS: dict[str, int] = {"cluster": 8774, "walrus": 8773, "storage": 8773}
LABELS: dict[str, str] = {"walrus": "WALRUS", "cluster": "CLUSTER", "storage": "STORAGE"}
#: what a component's host gets in its keys/ directory after registration
CLOUD_FILES_FOR: dict[str, tuple[str, ...]] = {
    "cluster": ("cloud-cert.pem",),
    "walrus": ("cloud-cert.pem", "cloud-pk.pem"),
    "storage": ("cloud-cert.pem", "cloud-pk.pem"),
}
PARTITION_FILES = ("cluster-cert.pem", "cluster-pk.pem", "node-cert.pem", "node-pk.pem")
_KIND_FLAGS = {"walrus": "walrus", "cluster": "cluster", "sc": "storage"}


class ToolError(Exception):
    """A failure to report as one line on stderr, exit code 1."""


@dataclass(frozen=True)
class Target:
    paths: EucaPaths
    conf: EucaConf
    clc_url: str


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="Configure a Eucalyptus cloud.")
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--initialize", action="store_true", help="one-time CLC set-up")
    for flag, kind in _KIND_FLAGS.items():
        action.add_argument(
            f"--register-{flag}",
            dest="register",
            action="store_const",
            const=kind,
            help=f"register a {kind}",
        )
        action.add_argument(
            f"--deregister-{flag}",
            dest="deregister",
            action="store_const",
            const=kind,
            help=f"deregister a {kind}",
        )
    action.add_argument("--register-nodes", metavar='"H1 H2"', help="add nodes (on the CC)")
    action.add_argument("--deregister-nodes", metavar='"H1 H2"', help="remove nodes (on the CC)")
    for flag, kind in (("walruses", "walrus"), ("clusters", "cluster"), ("scs", "storage")):
        action.add_argument(f"--list-{flag}", dest="list_kind", action="store_const", const=kind)
    action.add_argument(
        "--list-components", "--list-services", dest="list_kind", action="store_const", const="all"
    )
    action.add_argument("--list-nodes", action="store_true", help="NODES of this host's conf")
    action.add_argument("--get-credentials", metavar="FILE.zip", help="write a credentials zip")
    parser.add_argument("-P", "--partition", default="", help="partition (availability zone)")
    parser.add_argument("-H", "--host", default="", help="the component's host")
    parser.add_argument("-C", "--component", default="", help="the component's name")
    parser.add_argument("--port", type=int, default=None, help="the component's port")
    parser.add_argument("--cred-account", default="eucalyptus", help="account (default eucalyptus)")
    parser.add_argument("--cred-user", default="admin", help="user (default admin)")
    parser.add_argument(
        "-d",
        "--dir",
        "--eucalyptus",
        dest="root",
        default=None,
        help="install root (default $EUCALYPTUS or /)",
    )
    parser.add_argument("--clc-host", default=None, help="CLC address (default 127.0.0.1)")
    parser.add_argument("--clc-port", type=int, default=None, help="CLC port (default 8773)")
    parser.add_argument("--no-rsync", action="store_true", help="never copy keys with rsync")
    parser.add_argument("--no-scp", action="store_true", help="never copy keys with scp")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``euca_conf`` action; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        paths = EucaPaths.from_env(args.root)
        conf = EucaConf.load(paths.conf_file)
        host = args.clc_host or "127.0.0.1"
        port = args.clc_port or conf.get_int("CLC_PORT", DEFAULT_CLC_PORT, minimum=1, maximum=65535)
        target = Target(paths, conf, f"http://{host}:{port}")
        return _dispatch(args, target)
    except (ToolError, ConfigError, OSError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1
    except AwsError as exc:
        print(f"{PROG}: error: {exc.code}: {exc.message}", file=sys.stderr)
        return 1
    except SoapFault as exc:
        print(f"{PROG}: error: {exc.code}: {exc.message}", file=sys.stderr)
        return 1
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        print(f"{PROG}: error: database: {reason[0] if reason else exc}", file=sys.stderr)
        return 1


def _dispatch(args: argparse.Namespace, target: Target) -> int:
    if args.initialize:
        return _initialize(target)
    if args.register:
        return _register(args, target, args.register)
    if args.deregister:
        return _deregister(args, target, args.deregister)
    if args.register_nodes is not None:
        return _register_nodes(args, target)
    if args.deregister_nodes is not None:
        return _deregister_nodes(args, target)
    if args.list_nodes:
        for host in nodes_conf.read_nodes(target.paths.conf_file):
            print(f"NODE\t{host}")
        return 0
    if args.list_kind:
        return _list(target, args.list_kind)
    return _get_credentials(args, target)


def _initialize(target: Target) -> int:
    print("Initializing a new cloud.  This may take a few minutes.")
    try:
        result = initialize_cloud(target.paths, target.conf)
    except AlreadyInitialized as exc:
        raise ToolError(f"{exc}; not initialising again") from None
    print(f"Cloud certificate: {result.cloud_cert} (SHA-256 {result.cloud_fingerprint})")
    print(f"Account eucalyptus: {result.account_number}")
    print("Initialization successful.")
    return 0


# --- talking to the CLC -------------------------------------------------------------------


def _call(target: Target, operation: Any, request: Any) -> Any:
    """One signed call to the CLC's Configuration service; errors become ToolError/AwsError."""
    cert, key = cloud_cert_path(target.paths), cloud_key_path(target.paths)
    if not cert.exists() or not key.exists():
        raise ToolError(
            f"the cloud is not initialised under {target.paths.root} (no {cert.name} or "
            f"{key.name} in {cert.parent}); run `euca_conf --initialize` on the cloud controller"
        )
    signing_key = ComponentKey.load(cert, key)

    async def run() -> Any:
        async with aiohttp.ClientSession() as session:
            client = SoapClient(CLC_CONFIGURATION_SERVICE, target.clc_url, signing_key, session)
            return await client.call(operation, request)

    try:
        return asyncio.run(run())
    except (ComponentUnreachable, ComponentTimeout) as exc:
        raise ToolError(
            f"cannot reach the cloud controller at {target.clc_url}: {exc.message}"
        ) from None
    except SoapFault as exc:
        if exc.code.startswith("HTTP 404"):
            raise ToolError(
                f"the cloud controller at {target.clc_url} does not serve "
                f"{CLC_CONFIGURATION_SERVICE.path}; restart it after `euca_conf --initialize`"
            ) from None
        raise


def _register(args: argparse.Namespace, target: Target, kind: str) -> int:
    if not args.host or not args.component:
        raise ToolError(f"--register-{_flag(kind)} needs -H HOST and -C NAME")
    partition = args.partition or ("walrus" if kind == "walrus" else "")
    if not partition:
        raise ToolError(f"--register-{_flag(kind)} needs -P PARTITION")
    port = args.port or DEFAULT_PORTS[kind]
    request = RegisterComponentType(
        component_type=_kind(kind),
        partition=partition,
        name=args.component,
        host=args.host,
        port=port,
    )
    answer = _call(target, REGISTER_COMPONENT, request)
    record: ComponentRecord = answer.component
    print(f"SUCCESS: new {kind} '{record.name}' on host '{record.host}' successfully registered.")
    detail = f" ({answer.status_message})" if answer.status_message else ""
    print(f"{_line(record)}{detail}")
    files = [target.paths.keys_dir / name for name in CLOUD_FILES_FOR[kind]]
    if kind == "cluster":
        files += [target.paths.keys_dir / partition / name for name in PARTITION_FILES]
    return _sync(args, files, args.host)


def _deregister(args: argparse.Namespace, target: Target, kind: str) -> int:
    if not args.component:
        raise ToolError(f"--deregister-{_flag(kind)} needs -C NAME")
    request = DeregisterComponentType(
        component_type=_kind(kind), partition=args.partition, name=args.component
    )
    _call(target, DEREGISTER_COMPONENT, request)
    print(f"SUCCESS: {kind} '{args.component}' deregistered.")
    return 0


def _list(target: Target, kind: str) -> int:
    request = DescribeComponentsType(component_type=None if kind == "all" else _kind(kind))
    answer = _call(target, DESCRIBE_COMPONENTS, request)
    for record in answer.components:
        print(_line(record))
    return 0


def _line(record: ComponentRecord) -> str:
    label = LABELS.get(record.component_type, record.component_type.upper())
    return f"{label}\t{record.partition}\t{record.name}\t{record.host}\t{record.state}"


def _get_credentials(args: argparse.Namespace, target: Target) -> int:
    out = Path(args.get_credentials)
    request = GetCredentialsType(account_name=args.cred_account, user_name=args.cred_user)
    answer = _call(target, GET_CREDENTIALS, request)
    atomic_write(out, answer.zip_file, 0o600)
    return 0


# --- nodes (on the cluster controller) --------------------------------------------------------


def _hosts(value: str) -> list[str]:
    hosts = value.replace(",", " ").split()
    if not hosts:
        raise ToolError('give the node hosts as one argument, e.g. "10.1.1.2 10.1.1.3"')
    return hosts


def _register_nodes(args: argparse.Namespace, target: Target) -> int:
    hosts = _hosts(args.register_nodes)
    files = _node_key_files(target.paths, args.partition)
    change = nodes_conf.edit_nodes(target.paths.conf_file, add=hosts)
    for host in change.added:
        print(f"registered node {host} in {target.paths.conf_file}")
    for host in change.unchanged:
        print(f"node {host} was already registered")
    status = 0
    for host in hosts:
        status |= _sync(args, files, host)
    return status


def _deregister_nodes(args: argparse.Namespace, target: Target) -> int:
    change = nodes_conf.edit_nodes(target.paths.conf_file, remove=_hosts(args.deregister_nodes))
    for host in change.removed:
        print(f"deregistered node {host} from {target.paths.conf_file}")
    for host in change.unchanged:
        print(f"node {host} was not registered")
    return 0


def _node_key_files(paths: EucaPaths, partition: str) -> list[Path]:
    """The NC's key files: from ``keys/``, else from ``keys/<partition>/`` (CLC on this host)."""
    keys = paths.keys_dir
    candidates = (
        [keys / partition] if partition else sorted(p for p in keys.glob("*/") if p.is_dir())
    )
    files = []
    for name in nodes_conf.NODE_KEY_FILES:
        if (keys / name).is_file():
            files.append(keys / name)
            continue
        found = [d / name for d in candidates if (d / name).is_file()]
        if len(found) != 1:
            why = "in several partitions; give -P" if found else "anywhere"
            raise ToolError(
                f"no usable {name} in {keys} ({why}); register the cluster first, or copy "
                "the cluster's keys here"
            )
        files.append(found[0])
    return files


def _sync(args: argparse.Namespace, files: list[Path], host: str) -> int:
    try:
        how = nodes_conf.copy_keys(
            files,
            host,
            EucaPaths.from_env(args.root).keys_dir,
            use_rsync=not args.no_rsync,
            use_scp=not args.no_scp,
        )
    except (OSError, RuntimeError) as exc:
        print(f"{PROG}: error: keys not copied: {exc}", file=sys.stderr)
        return 1
    print(how)
    return 0


def _kind(kind: str) -> ComponentType:
    if kind not in DEFAULT_PORTS:
        raise ToolError(f"unknown component type {kind}")
    return kind  # type: ignore[return-value]


def _flag(kind: str) -> str:
    return "sc" if kind == "storage" else kind


if __name__ == "__main__":
    raise SystemExit(main())
