"""The daemon skeleton, run as a real process: health, log file, pid file, SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import urllib.request
from pathlib import Path

from tests.support import BIN, free_port, wait_healthy


def _start(root: Path, component: str, port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            str(BIN / f"eucalyptus-{component}"),
            "--eucalyptus",
            str(root),
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def test_skeleton_serves_health_logs_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    proc = _start(tmp_path, "nc", port)
    try:
        wait_healthy(port, proc)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
            health = json.loads(answer.read())
        assert health["component"] == "nc" and health["status"] == "ok"
        pid_file = tmp_path / "var/run/eucalyptus/nc.pid"
        assert pid_file.read_text().strip() == str(proc.pid)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    assert not pid_file.exists()
    log = (tmp_path / "var/log/eucalyptus/nc.log").read_text()
    assert "listening on 127.0.0.1" in log and "stopped" in log


def test_second_copy_on_the_same_root_refuses_to_start(tmp_path: Path) -> None:
    port = free_port()
    first = _start(tmp_path, "cc", port)
    try:
        wait_healthy(port, first)
        second = _start(tmp_path, "cc", free_port())
        assert second.wait(timeout=20) == 1
        assert (
            f"already running as pid {first.pid}"
            in (tmp_path / "var/log/eucalyptus/cc.log").read_text()
        )
    finally:
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=20)


def test_bad_configuration_stops_the_daemon_with_the_file_and_line(tmp_path: Path) -> None:
    conf = tmp_path / "etc/eucalyptus/eucalyptus.conf"
    conf.parent.mkdir(parents=True)
    conf.write_text('LOGLEVEL="INFO"\nNC_PORT="eighty"\n')
    proc = subprocess.run(
        [str(BIN / "eucalyptus-nc"), "--eucalyptus", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 2
    assert f"{conf}:2: NC_PORT='eighty' is not an integer" in proc.stderr


def test_stale_pid_file_is_ignored(tmp_path: Path) -> None:
    pid_file = tmp_path / "var/run/eucalyptus/sc.pid"
    pid_file.parent.mkdir(parents=True)
    pid_file.write_text("999999\n")  # no such process
    port = free_port()
    proc = _start(tmp_path, "sc", port)
    try:
        wait_healthy(port, proc)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
