"""The phantom's ground-truth file, ``phantom_truth.json``: what the generator drew for every video
(true EF, nuisances, archive kinds), read back for tests, benchmarks and the report's nuisance tables.
Only the phantom side, the CLI and the training side import it; the report receives its map."""

from __future__ import annotations

import json
from pathlib import Path

from infomotion_rt.errors import ConfigError, DataError

TRUTH_FILE = "phantom_truth.json"
LABEL_OFF = 5.0         # EF points between label and true EF that count as a wrong label (echonet.EF_DISAGREEMENT)


def load_truth(out_dir) -> dict:
    """The ``phantom_truth.json`` of a generated folder (``videos``: one dict per video, in order)."""
    path = Path(out_dir) / TRUTH_FILE
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot read the phantom ground truth ({exc})") from exc


def load_nuisances(data_dir) -> dict[str, list[str]] | None:
    """Video name -> nuisance kinds from the dataset's phantom_truth.json; None without one.
    Raises DataError when the file is there but unreadable."""
    path = Path(data_dir) / TRUTH_FILE
    if not path.is_file():
        return None
    try:
        videos = json.loads(path.read_text()).get("videos", [])
    except (OSError, ValueError, AttributeError) as exc:
        raise DataError(f"{TRUTH_FILE}: unreadable ({exc})") from exc
    return {str(v.get("name", "")): nuisance_kinds(v) for v in videos if isinstance(v, dict)}


def _named_kinds(value) -> list[str] | None:
    """Kinds from a field that names them (a string, a list of strings, or a dict of kind -> bool)."""
    if isinstance(value, str):
        return [] if value.lower() in ("", "none", "clean") else [value]
    if isinstance(value, (list, tuple)) and all(isinstance(k, str) for k in value):
        return [k for k in value if k]
    if isinstance(value, dict) and value and all(isinstance(v, bool) for v in value.values()):
        return [k for k, v in value.items() if v]
    return None


def nuisance_kinds(video: dict) -> list[str]:
    """The nuisance kinds of one phantom video's truth record, sorted; [] for a clean clip.

    The kinds the generator names (``nuisance_kinds``, or ``nuisances`` / ``nuisance`` as a string, a
    list of strings or a dict of kind -> bool), plus "poor quality" for a ``poor`` clip. A truth file
    that names no kinds (older generators) gets what its fields record instead: |ef_label - ef_true| >
    LABEL_OFF -> "EF label off", and from the acquisition-nuisance record (``nuisance`` as a dict of
    drawn values) "gain step" (non-empty ``gain_steps``) and "AF-like rhythm" (``rr_sd`` >= 0.1).
    Fields that are missing are skipped."""
    kinds: set[str] = set()
    named = False
    for key in ("nuisance_kinds", "nuisances", "nuisance"):
        found = _named_kinds(video.get(key))
        if found is not None:
            kinds.update(found)
            named = True
    if video.get("poor") and not any("poor" in k for k in kinds):
        kinds.add("poor quality")
    if named:
        return sorted(kinds)
    try:
        if abs(float(video["ef_label"]) - float(video["ef_true"])) > LABEL_OFF:
            kinds.add("EF label off")
    except (KeyError, TypeError, ValueError):
        pass
    drawn = video.get("nuisance")
    if isinstance(drawn, dict):
        if drawn.get("gain_steps"):
            kinds.add("gain step")
        if isinstance(drawn.get("rr_sd"), (int, float)) and drawn["rr_sd"] >= 0.1:
            kinds.add("AF-like rhythm")
    return sorted(kinds)
