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
