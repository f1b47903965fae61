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
