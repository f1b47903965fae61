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


DOCS = [REPO / "README.md", REPO / "CHANGELOG.md", *sorted((REPO / "docs").glob("*.md"))]


def slug(heading: str) -> str:
    """GitHub's anchor of a markdown heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def headings(path: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)
    return re.findall(r"^#+ +(.+?) *$", text, re.M)


def test_links_and_their_anchors_resolve():
    bad = []
    for doc in DOCS:
        for target in re.findall(r"\]\(([^)\s]+)\)", doc.read_text(encoding="utf-8")):
            if re.match(r"[a-z][a-z0-9+.-]*:", target):
                continue
            path, _, anchor = target.partition("#")
            file = doc.parent / path if path else doc
            if not file.is_file() or (anchor and file.suffix == ".md" and anchor not in map(slug, headings(file))):
                bad.append(f"{doc.name}: {target}")
    assert not bad, bad


def test_quoted_section_references_name_a_heading():
    # e.g. README "Layout" or BENCHMARKS.md, "Selection metric": the file has a heading starting so
    bad = []
    for doc in DOCS:
        text = " ".join(doc.read_text(encoding="utf-8").split())
        for name, title in re.findall(r'\b(README|BENCHMARKS\.md|[a-z-]+\.md),? "([^"]+)"', text):
            name = "README.md" if name == "README" else name
            file = next((f for f in (REPO / name, REPO / "docs" / name) if f.is_file()), None)
            if file is None or not any(h.startswith(title) for h in headings(file)):
                bad.append(f'{doc.name}: {name} "{title}"')
    assert not bad, bad


GLOBAL = {"--folds", "--view"}   # in "Global options and options of every command that reads data"


def test_every_option_of_every_command_is_in_its_section():
    missing = {}
    for name, command in cli.commands.items():
        if command.hidden:   # an old name of a command
            continue
        text = section(COMMANDS, f"### {name}")
        for param in command.params:   # advanced options are hidden from --help, not from commands.md
            flags = [o for o in param.opts + param.secondary_opts if o.startswith("--")]
            if getattr(param, "hidden", False) and not getattr(param, "advanced", False) or not flags:
                continue   # a moved option's old name, or an argument
            if set(flags) & GLOBAL:
                continue
            if not any(re.search(re.escape(f) + r"(?![\w-])", text) for f in flags):
                missing.setdefault(name, []).append(flags[0])
    assert not missing, f"options commands.md does not name: {missing}"
