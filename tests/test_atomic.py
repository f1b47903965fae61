import os
import stat

import pytest

from infomotion_rt.atomic import atomic_dir, atomic_path, atomic_write_text
from infomotion_rt.errors import ConfigError


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_atomic_path_replaces_only_on_success(tmp_path):
    target = tmp_path / "out.txt"
    atomic_write_text(target, "old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]  # no temporary left behind


def test_outputs_get_the_umask_permissions_not_mkstemps_0600(tmp_path):
    old = os.umask(0o022)
    os.umask(old)
    path = atomic_write_text(tmp_path / "sub" / "a.txt", "x")
    assert _mode(path) == 0o666 & ~old


def test_private_outputs_stay_0600_from_creation_to_rename(tmp_path):
    target = tmp_path / "key"
    with atomic_path(target, private=True) as tmp:
        assert _mode(tmp) == 0o600  # readable by nobody else while being written
        tmp.write_text("secret")
    assert _mode(target) == 0o600
    assert _mode(atomic_write_text(tmp_path / "map.csv", "a", private=True)) == 0o600


def test_atomic_dir_refuses_a_non_empty_folder_unless_overwrite(tmp_path):
    out = tmp_path / "data"
    with atomic_dir(out) as tmp:
        (tmp / "a").write_text("1")
    with pytest.raises(ConfigError, match="not empty"):
        with atomic_dir(out):
            pass
    with atomic_dir(out, overwrite=True) as tmp:
        (tmp / "b").write_text("2")
    assert [p.name for p in out.iterdir()] == ["b"]
    assert [p.name for p in tmp_path.iterdir()] == ["data"]


def test_atomic_dir_leaves_nothing_when_the_work_fails(tmp_path):
    out = tmp_path / "data"
    with pytest.raises(ValueError):
        with atomic_dir(out) as tmp:
            (tmp / "a").write_text("1")
            raise ValueError("bad input")
    assert list(tmp_path.iterdir()) == []
