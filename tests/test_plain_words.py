"""Plain words in what users see (issue 18, item 5): settings in words, counts with their plurals."""

from infomotion_rt.evaluate.regressor import SETTINGS, get_setting, setting_words


def test_setting_words_say_what_was_trained():
    words = SETTINGS["cpu-small"].words(150)
    assert words.startswith("small 3D CNN (r3d_18, width 8, 1 block per stage, grey)")
    assert "8 frames over 1.2 heart cycles at 32×32, 150 steps" in words and '"cpu-small" setting' in words
    assert "frames (every 4th frame) at 32×32" in SETTINGS["tiny"].words()
    assert "torchvision's full width" in SETTINGS["paper"].words()
    assert "training clips augmented" in get_setting("cpu-small", augment=True).words()
    # results files keep the exact label as their key; older files without words show the label
    assert setting_words({"setting": "x: y"}) == "x: y"
    assert setting_words({"setting": "x: y", "setting_words": "words"}) == "words"


def test_report_says_which_communities_it_counts_and_what_vpc_is(tmp_path):
    from infomotion_rt.share import report

    rows = [{"FileName": n, "EF": 60.0, "class": "Normal", "community": c, "centrality": 0.5}
            for n, c in (("a", 0), ("b", 3))]
    view = report.SelectionView(rows, "infomotion", 2, 0, found={"Normal": 15})
    page = report.write_report(tmp_path / "r.html", [view], progress=False).path.read_text()
    assert "communities: among the picks / found" in page and "<td class='n'>2 / 15</td>" in page
    assert "VPC (videos per class)" in page
    one = report.SelectionView(rows[:1], "kmeans", 1, 0)
    page = report.write_report(tmp_path / "s.html", [one], progress=False).path.read_text()
    assert "communities among the picks" in page and "1 communities" not in page
    found_one = report.SelectionView(rows[:1], "infomotion", 1, 0, found={"Normal": 1})
    page = report.write_report(tmp_path / "t.html", [found_one], progress=False).path.read_text()
    assert "1 of 1 community<" in page and "1 of 1 communities" not in page


def test_plural():
    from infomotion_rt.console import plural

    assert plural(1, "community", "communities") == "1 community"
    assert plural(15, "community", "communities") == "15 communities" and plural(0, "video") == "0 videos"


class _Terminal:
    """A stream that says it is a terminal."""

    def __init__(self):
        self.text = ""

    def write(self, s):
        self.text += s

    def flush(self):
        pass

    def isatty(self):
        return True


def test_nested_bars_do_not_flood_a_log():
    import io

    from infomotion_rt.console import bar

    def nested(stream):
        for _ in bar(range(200), desc="outer", file=stream):
            for _ in bar(range(30), desc="inner", file=stream, inner=True):
                pass

    log = io.StringIO()
    nested(log)
    redraws = log.getvalue().count("\r")
    assert "inner" not in log.getvalue() and 0 < redraws <= 25 and "200/200" in log.getvalue()
    terminal = _Terminal()
    nested(terminal)
    assert "inner" in terminal.text   # on a terminal the inner bar is drawn (and cleared)
    quiet = io.StringIO()
    for _ in bar(range(5), desc="x", file=quiet, progress=False):
        pass
    assert quiet.getvalue() == ""
    for stream in (io.StringIO(), _Terminal()):   # nothing to do, no bar ("report previews: 0video")
        for _ in bar([], desc="empty", unit="video", file=stream):
            pass
        bar(total=0, desc="empty", file=stream).close()
        assert "empty" not in (stream.getvalue() if hasattr(stream, "getvalue") else stream.text)


def test_command_lines_count_one_in_the_singular(tmp_path):
    import numpy as np
    from click.testing import CliRunner

    from infomotion_rt.cli import cli
    from infomotion_rt.extract.featureset import make_feature_set, make_meta
    from infomotion_rt.extract.files import write_features

    fs = make_feature_set(["a", "b", "c"], np.random.default_rng(0).normal(size=(3, 4)), [60.0, 61.0, 62.0],
                          ["TRAIN"] * 3, make_meta("test"))
    feats = write_features(tmp_path / "f.npz", fs)
    res = CliRunner().invoke(cli, ["select", "--features", str(feats), "--vpc", "1", "--method", "random",
                                   "--out", str(tmp_path / "s.csv")], catch_exceptions=False)
    assert "(1 video, method random" in res.output
    res = CliRunner().invoke(cli, ["phantom", str(tmp_path / "p"), "--n", "1", "--frames", "12"], catch_exceptions=False)
    assert "wrote 1 dynamic phantom video to" in res.output
