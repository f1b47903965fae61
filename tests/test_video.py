"""video.py: probe and read_frames on tiny AVI/MP4 files, including every bad-input case."""

import numpy as np
import pytest

from echo_fixtures import ramp_frames, write_video
from infomotion_rt.data import video
from infomotion_rt.data.formats import VideoInfo
from infomotion_rt.data.video import find_video, probe, read_frames
from infomotion_rt.errors import VideoError


@pytest.fixture(scope="module")
def avi(tmp_path_factory):
    return write_video(tmp_path_factory.mktemp("v") / "ramp.avi", ramp_frames(20, 24, 32), fps=25.0)


@pytest.fixture(scope="module")
def mp4(tmp_path_factory):
    return write_video(tmp_path_factory.mktemp("v") / "ramp.mp4", ramp_frames(20, 24, 32), fourcc="mp4v")


def _level(frame):  # frame i of ramp_frames is gray 8*i away from the bright corner
    return float(np.median(frame[8:, 8:]))


def test_probe_avi(avi):
    info = probe(avi)
    assert (info.n_frames, info.height, info.width) == (20, 24, 32)
    assert info.fps == pytest.approx(25.0)
    assert info.codec == "MJPG" and info.seekable and not info.counted


def test_probe_mp4_and_exact_count(mp4):
    info = probe(mp4)
    assert (info.n_frames, info.height, info.width) == (20, 24, 32)
    assert not info.seekable
    exact = probe(mp4, exact=True)
    assert exact.n_frames == 20 and exact.counted


@pytest.mark.parametrize("fixture", ["avi", "mp4"])
def test_read_all_is_grayscale_uint8(fixture, request):
    frames = read_frames(request.getfixturevalue(fixture))
    assert frames.shape == (20, 24, 32) and frames.dtype == np.uint8
    assert [round(_level(f) / 8) for f in frames] == list(range(20))


@pytest.mark.parametrize("fixture", ["avi", "mp4"])
def test_read_selected_frames_in_requested_order(fixture, request):
    frames = read_frames(request.getfixturevalue(fixture), [13, 2, 19, 2, 3])
    assert frames.shape == (5, 24, 32)
    assert [round(_level(f) / 8) for f in frames] == [13, 2, 19, 2, 3]


def test_seekable_codec_reads_by_seeking(avi, monkeypatch):
    calls = []
    monkeypatch.setattr(video, "_read_sequentially", lambda *a: calls.append(a) or {})
    read_frames(avi, [5, 15])
    assert not calls  # MJPG never goes through the sequential reader


def test_sequential_reader_stops_after_last_needed_frame(mp4, monkeypatch):
    grabs = []
    original = video._Capture.__init__

    def counting_init(self, path):
        original(self, path)
        real_grab = self.cap.grab

        class Spy:
            def __getattr__(_, item):
                return getattr(self._real, item)

            def grab(_):
                grabs.append(1)
                return real_grab()

        self._real, self.cap = self.cap, Spy()

    monkeypatch.setattr(video._Capture, "__init__", counting_init)
    read_frames(mp4, [1, 4])
    assert len(grabs) == 5


def test_missing_file(tmp_path):
    with pytest.raises(VideoError, match="nope.avi: video file not found"):
        probe(tmp_path / "nope.avi")
    with pytest.raises(VideoError, match="not found"):
        read_frames(tmp_path / "nope.avi")


def test_undecodable_file(tmp_path):
    bad = tmp_path / "bad.avi"
    bad.write_bytes(b"RIFF" + bytes(range(256)) * 8)
    with pytest.raises(VideoError, match="bad.avi"):
        probe(bad)
    with pytest.raises(VideoError, match="bad.avi"):
        read_frames(bad)


def test_zero_frame_video(tmp_path):
    empty = write_video(tmp_path / "empty.avi", np.zeros((0, 16, 16), np.uint8))
    with pytest.raises(VideoError, match="empty.avi: (no decodable frame|cannot be opened|zero)"):
        probe(empty)
    with pytest.raises(VideoError, match="empty.avi"):
        read_frames(empty)


@pytest.mark.parametrize("fixture", ["avi", "mp4"])
def test_out_of_range_and_negative(fixture, request):
    path = request.getfixturevalue(fixture)
    with pytest.raises(VideoError, match=r"frame 20 is out of range"):
        read_frames(path, [3, 20])
    with pytest.raises(VideoError, match="negative"):
        read_frames(path, [-1])
    with pytest.raises(VideoError, match="no frame indices"):
        read_frames(path, [])


def test_header_count_that_lies_is_corrected(avi, monkeypatch):
    monkeypatch.setattr(video._Capture, "header_count", lambda self: 35)  # header claims 35, 20 decode
    info = probe(avi)
    assert info.n_frames == 20 and info.counted
    monkeypatch.setattr(video._Capture, "header_count", lambda self: 0)  # header gives no count
    assert probe(avi).n_frames == 20


def test_find_video_with_and_without_suffix(tmp_path):
    write_video(tmp_path / "a.avi", ramp_frames(3))
    write_video(tmp_path / "b.mp4", ramp_frames(3), fourcc="mp4v")
    assert find_video(tmp_path, "a") == tmp_path / "a.avi"
    assert find_video(tmp_path, "a.avi") == tmp_path / "a.avi"
    assert find_video(tmp_path, "b") == tmp_path / "b.mp4"
    assert find_video(tmp_path, "b.avi") == tmp_path / "b.mp4"
    assert find_video(tmp_path, "c") is None


def test_video_info_is_frozen():
    with pytest.raises(AttributeError):
        VideoInfo(1, 1.0, 1, 1).n_frames = 2
