"""Which source the window opens on, and how a source is kept in the settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from mocap_app.gui.app import NO_CAMERA_BANNER, choose_start
from mocap_app.pipeline.live import SAMPLE_CLIP, LiveSource


@pytest.mark.skipif(not SAMPLE_CLIP.is_file(), reason="the sample clip is not in this checkout")
def test_the_window_opens_on_what_was_asked_else_the_last_source_else_a_camera_else_the_sample(tmp_path):
    cameras = [("Camera 0", LiveSource("camera", camera=0)), ("Camera 2", LiveSource("camera", camera=2))]
    video = tmp_path / "take.mp4"
    video.write_bytes(b"")
    asked = LiveSource("video", path=video, realtime=False)
    assert choose_start(cameras, asked, LiveSource("camera", camera=2)) == (asked, "")
    assert choose_start(cameras, None, LiveSource("camera", camera=2)) == (cameras[1][1], "")
    assert choose_start(cameras, None, LiveSource("video", path=video)) == (LiveSource("video", path=video), "")
    # The last camera unplugged, the last file gone: the first camera, then the sample clip with its banner.
    assert choose_start(cameras, None, LiveSource("camera", camera=5)) == (cameras[0][1], "")
    assert choose_start(cameras, None, LiveSource("video", path=tmp_path / "gone.mp4")) == (cameras[0][1], "")
    source, banner = choose_start([], None, LiveSource("camera", camera=0))
    assert source.path == SAMPLE_CLIP and source.realtime and banner == NO_CAMERA_BANNER


def test_a_source_survives_the_settings_round_trip():
    from mocap_app.gui.window import source_from_setting, source_to_setting

    for source in (LiveSource("camera", camera=3), LiveSource("video", path=Path("/v/a b.mp4"), realtime=True),
                   LiveSource("video", path=Path("/v/c.mp4"), realtime=False),
                   LiveSource("folder", path=Path("/frames"))):
        assert source_from_setting(source_to_setting(source)) == source
    assert source_from_setting(None) is None and source_from_setting("nonsense") is None
