import subprocess
import sys

from click.testing import CliRunner

from infomotion_rt import __version__
from infomotion_rt.cli import cli


def test_version_names_package_and_native_core():
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0, result.output
    assert f"infomotion-rt {__version__}" in result.output
    assert "native core" in result.output and "unavailable" not in result.output


def test_help_lists_commands():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output


def test_console_script_runs():
    out = subprocess.run([sys.executable, "-m", "infomotion_rt.cli", "--version"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.startswith("infomotion-rt ")


def test_select_help_shows_what_a_user_needs_and_help_all_the_rest():
    short = CliRunner().invoke(cli, ["select", "--help"]).output
    options = [line.split()[0] for line in short.splitlines() if line.startswith("  -")]
    assert len(options) <= 16 and "--vpc" in options and "--features" in options
    assert not {"--k", "--metric", "--paper-literal", "--knn-pca", "--pca"} & set(options)
    full = CliRunner().invoke(cli, ["select", "--help-all"]).output
    advanced = full.split("Advanced options")[1]
    assert "--k INTEGER" in advanced and "--metric" in advanced and "--knn-pca" in advanced
    assert "--pca " not in full                      # the moved name is not advertised


def test_config_file_errors_are_one_line(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("kk = 5\n")
    r = CliRunner().invoke(cli, ["select", "--features", "f.npz", "--config", str(bad)])
    assert r.exit_code != 0 and "unknown key(s) kk for select" in str(r.exception)
    bad.write_text("k = \n")
    r = CliRunner().invoke(cli, ["select", "--features", "f.npz", "--config", str(bad)])
    assert r.exit_code != 0 and "not valid TOML" in str(r.exception)


def test_old_export_name_still_works_with_a_notice(tmp_path):
    listed = CliRunner().invoke(cli, ["--help"]).output
    assert "export-model" in listed and "  export " not in listed          # the old name is hidden
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    old = CliRunner().invoke(cli, ["export", str(junk), "--out", str(tmp_path / "m.onnx")])
    new = CliRunner().invoke(cli, ["export-model", str(junk), "--out", str(tmp_path / "m.onnx")])
    assert "note: `infomotion-rt export` is now `infomotion-rt export-model`" in old.output
    assert "note:" not in new.output and type(old.exception) is type(new.exception)
