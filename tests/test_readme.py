"""README.md fits on a screen (issue 18): under 200 lines, table rows of at most 200 characters, and every
relative link (markdown links and backticked docs/*.md paths) names a file that exists."""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TEXT = (REPO / "README.md").read_text(encoding="utf-8")
LINES = TEXT.splitlines()


def test_readme_is_short():
    assert len(LINES) < 200


def test_table_rows_fit_on_a_line():
    long = [(i + 1, len(line)) for i, line in enumerate(LINES) if line.startswith("|") and len(line) > 200]
    assert not long, f"table rows over 200 characters (line, length): {long}"


def test_relative_links_exist():
    targets = re.findall(r"\]\(([^)\s]+)\)", TEXT) + re.findall(r"`(docs/[^`\s]+\.md)`", TEXT)
    relative = [t.split("#", 1)[0] for t in targets if not re.match(r"[a-z][a-z0-9+.-]*:", t) and not t.startswith("#")]
    assert relative, "README.md links to no file"
    missing = sorted({t for t in relative if not (REPO / t).is_file()})
    assert not missing, f"README.md links to missing files: {missing}"
