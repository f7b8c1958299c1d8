"""NODES editing keeps every other byte of eucalyptus.conf; node keys reach the NCs."""

from __future__ import annotations

import stat
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

from eucalyptus.clc.configuration import ensure_partition_keys
from eucalyptus.clc.initialize import initialize_cloud
from eucalyptus.common.config import EucaConf
from eucalyptus.common.paths import EucaPaths
from eucalyptus.tools import euca_conf, nodes_conf

CONF = """\
# eucalyptus.conf of a cluster controller
EUCALYPTUS="/"
  export NODES="10.0.0.2 $EXTRA_NODE"   # the NCs
VNET_MODE='MANAGED-NOVLAN'
HYPERVISOR=kvm"""  # no final newline on purpose


def test_adding_nodes_changes_only_the_value_of_the_nodes_line(tmp_path: Path) -> None:
    conf = tmp_path / "eucalyptus.conf"
    conf.write_text(CONF)
    conf.chmod(0o640)
    change = nodes_conf.edit_nodes(conf, add=["10.0.0.3", "10.0.0.2", "10.0.0.4"])
    assert change.added == ["10.0.0.3", "10.0.0.4"]
    assert change.unchanged == ["10.0.0.2"]
    expected = CONF.replace('"10.0.0.2 $EXTRA_NODE"', '"10.0.0.2 $EXTRA_NODE 10.0.0.3 10.0.0.4"')
    assert conf.read_text() == expected
    assert stat.S_IMODE(conf.stat().st_mode) == 0o640
    assert nodes_conf.read_nodes(conf) == ["10.0.0.2", "$EXTRA_NODE", "10.0.0.3", "10.0.0.4"]
    assert EucaConf.load(conf).get_list("NODES") == ["10.0.0.2", "10.0.0.3", "10.0.0.4"]


def test_removing_nodes_keeps_the_rest_and_reports_unknown_hosts(tmp_path: Path) -> None:
    conf = tmp_path / "eucalyptus.conf"
    conf.write_text(CONF)
    change = nodes_conf.edit_nodes(conf, remove=["10.0.0.2", "10.9.9.9"])
    assert change.removed == ["10.0.0.2"]
    assert change.unchanged == ["10.9.9.9"]
    assert conf.read_text() == CONF.replace('"10.0.0.2 $EXTRA_NODE"', '"$EXTRA_NODE"')


def test_a_conf_without_nodes_gets_a_line_and_a_missing_conf_is_created(tmp_path: Path) -> None:
    conf = tmp_path / "eucalyptus.conf"
    conf.write_text('HYPERVISOR="qemu"')
    nodes_conf.edit_nodes(conf, add=["nc1"])
    assert conf.read_text() == 'HYPERVISOR="qemu"\nNODES="nc1"\n'
    fresh = tmp_path / "etc" / "eucalyptus.conf"
    nodes_conf.edit_nodes(fresh, add=["nc1", "nc2"])
    assert fresh.read_text() == 'NODES="nc1 nc2"\n'


def test_the_last_of_several_nodes_lines_is_the_one_edited(tmp_path: Path) -> None:
    conf = tmp_path / "eucalyptus.conf"
    conf.write_text("NODES=old1\nX=1\nNODES=''\n")
    nodes_conf.edit_nodes(conf, add=["nc1"])
    assert conf.read_text() == 'NODES=old1\nX=1\nNODES="nc1"\n'


def test_a_local_copy_flattens_the_partition_keys_and_keeps_their_modes(tmp_path: Path) -> None:
    paths = EucaPaths(tmp_path)
    initialize_cloud(paths, EucaConf({}))
    ensure_partition_keys(paths, "PARTI00")
    files = [paths.keys_dir / "PARTI00" / "node-pk.pem", paths.keys_dir / "cloud-cert.pem"]
    how = nodes_conf.copy_keys(files, "127.0.0.1", paths.keys_dir)
    assert "copied node-pk.pem to" in how
    assert stat.S_IMODE((paths.keys_dir / "node-pk.pem").stat().st_mode) == 0o600
    again = nodes_conf.copy_keys([paths.keys_dir / "node-pk.pem"], "localhost", paths.keys_dir)
    assert "already in" in again


def test_a_remote_copy_falls_back_from_rsync_to_scp_as_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = tmp_path / "node-pk.pem"
    key.write_text("k")
    calls: list[list[str]] = []

    def run(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
        calls.append(list(argv))
        code = 12 if argv[0] == "rsync" else 0
        return subprocess.CompletedProcess(list(argv), code, "", "rsync: connection refused\n")

    monkeypatch.setattr("eucalyptus.tools.nodes_conf.shutil.which", lambda name: f"/usr/bin/{name}")
    target = Path("/opt/euca/var/lib/eucalyptus/keys")
    how = nodes_conf.copy_keys([key], "192.0.2.10", target, run=run)  # TEST-NET: never local
    assert [call[0] for call in calls] == ["rsync", "scp"]
    assert calls[1][-1] == "root@192.0.2.10:/opt/euca/var/lib/eucalyptus/keys/"
    assert "BatchMode=yes" in calls[1]
    assert "with scp" in how
    calls.clear()
    with pytest.raises(RuntimeError, match="rsync exited 12"):
        nodes_conf.copy_keys([key], "192.0.2.10", target, use_scp=False, run=run)
    with pytest.raises(RuntimeError, match="switched off"):
        nodes_conf.copy_keys([key], "192.0.2.10", target, use_rsync=False, use_scp=False, run=run)


def test_euca_conf_register_nodes_edits_nodes_and_installs_the_node_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = EucaPaths(tmp_path)
    initialize_cloud(paths, EucaConf({}))
    ensure_partition_keys(paths, "PARTI00")
    paths.conf_file.parent.mkdir(parents=True)
    paths.conf_file.write_text('HYPERVISOR="qemu"\n')
    code = euca_conf.main(["-d", str(tmp_path), "--register-nodes", "127.0.0.1"])
    out = capsys.readouterr().out
    assert code == 0
    assert "registered node 127.0.0.1" in out
    assert paths.conf_file.read_text() == 'HYPERVISOR="qemu"\nNODES="127.0.0.1"\n'
    for name in ("node-cert.pem", "node-pk.pem", "cluster-cert.pem"):
        assert (paths.keys_dir / name).read_bytes() == (
            paths.keys_dir / "PARTI00" / name
        ).read_bytes()
    assert euca_conf.main(["-d", str(tmp_path), "--list-nodes"]) == 0
    assert capsys.readouterr().out == "NODE\t127.0.0.1\n"
    assert euca_conf.main(["-d", str(tmp_path), "--deregister-nodes", "127.0.0.1 10.1.1.1"]) == 0
    out = capsys.readouterr().out
    assert "deregistered node 127.0.0.1" in out
    assert "node 10.1.1.1 was not registered" in out
    assert paths.conf_file.read_text() == 'HYPERVISOR="qemu"\nNODES=""\n'


def test_euca_conf_register_nodes_without_any_node_keys_fails_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = euca_conf.main(["-d", str(tmp_path), "--register-nodes", "10.1.1.2"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1
    assert "register the cluster first" in err
    assert not EucaPaths(tmp_path).conf_file.exists()
