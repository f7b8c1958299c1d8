"""eucalyptus.conf: shell-style values, typed access, errors naming key, file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from eucalyptus.common.config import EucaConf
from eucalyptus.common.errors import ConfigError

SAMPLE = """\
# comment
EUCALYPTUS="/opt/euca"
export INSTANCE_PATH="${EUCALYPTUS}/var/lib/eucalyptus/instances"
NC_PORT=8775
HYPERVISOR='kvm'
LITERAL='$EUCALYPTUS stays'
NODES="10.0.0.1 10.0.0.2"
USE_VIRTIO_ROOT="Y"
EMPTY=""
"""


def test_reads_quotes_exports_and_references() -> None:
    conf = EucaConf.parse(SAMPLE, "eucalyptus.conf")
    assert conf.get_str("INSTANCE_PATH") == "/opt/euca/var/lib/eucalyptus/instances"
    assert conf.get_int("NC_PORT", 1) == 8775
    assert conf.get_str("HYPERVISOR") == "kvm"
    assert conf.get_str("LITERAL") == "$EUCALYPTUS stays"
    assert conf.get_list("NODES") == ["10.0.0.1", "10.0.0.2"]
    assert conf.get_bool("USE_VIRTIO_ROOT", False) is True


def test_defaults_for_missing_and_empty_values() -> None:
    conf = EucaConf.parse(SAMPLE)
    assert conf.get_int("CC_PORT", 8774) == 8774
    assert conf.get_int("EMPTY", 3) == 3
    assert conf.get_bool("MISSING", True) is True
    assert conf.get_str("MISSING", "x") == "x"


@pytest.mark.parametrize(
    ("text", "call", "message"),
    [
        (
            'A="1"\nNC_PORT="abc"\n',
            lambda c: c.get_int("NC_PORT", 1),
            "f.conf:2: NC_PORT='abc' is not an integer",
        ),
        (
            'NC_PORT="0"\n',
            lambda c: c.get_int("NC_PORT", 1, minimum=1),
            "f.conf:1: NC_PORT='0' is below the minimum 1",
        ),
        ('X="maybe"\n', lambda c: c.get_bool("X", False), "f.conf:1: X='maybe' is not a yes/no"),
        (
            'MODE="BAD"\n',
            lambda c: c.get_choice("MODE", "SYSTEM", ("SYSTEM", "STATIC")),
            "f.conf:1: MODE='BAD' must be one of SYSTEM, STATIC",
        ),
    ],
)
def test_bad_values_name_file_line_and_key(text: str, call, message: str) -> None:  # type: ignore[no-untyped-def]
    conf = EucaConf.parse(text, "f.conf")
    with pytest.raises(ConfigError) as caught:
        call(conf)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('A="unterminated', 'f.conf:1: A: unterminated " quote'),
        ("A=two words", "f.conf:1: A: a value with spaces must be quoted"),
        ("this is not an assignment", "f.conf:1: cannot read this line"),
        ('A="x" trailing', "f.conf:1: A: unexpected text after the value"),
    ],
)
def test_unreadable_lines_are_refused_with_their_line(line: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        EucaConf.parse(line, "f.conf")


def test_missing_file_is_empty_unless_required(tmp_path: Path) -> None:
    assert EucaConf.load(tmp_path / "none.conf").keys() == []
    with pytest.raises(ConfigError, match="no such configuration file"):
        EucaConf.load(tmp_path / "none.conf", missing_ok=False)
