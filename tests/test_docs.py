"""What docs/commands.md and CHANGELOG.md tell a user matches the command line (fresh-user trial, issue 19)."""

import re
from pathlib import Path

from click.testing import CliRunner

from infomotion_rt.cli import cli

REPO = Path(__file__).resolve().parents[1]
COMMANDS = (REPO / "docs" / "commands.md").read_text(encoding="utf-8")


def section(text: str, heading: str) -> str:
    """The text under a markdown heading, up to the next heading of any level."""
    return re.split(r"\n#+ ", text.split(f"\n{heading}\n", 1)[1], maxsplit=1)[0]


def test_a_non_dicom_export_is_not_said_to_be_deidentified_by_default():
    bullet = section(COMMANDS, "### select").split("- `--export-dataset DIR`", 1)[1].split("\n- ", 1)[0]
    assert "which is the default" not in bullet
    assert "A DICOM source is always exported de-identified" in bullet and "unless `--deidentify`" in bullet
    help_text = " ".join(CliRunner().invoke(cli, ["select", "--help"]).output.split())
    assert "default: on for a DICOM source" in help_text and "off for others" in help_text
