"""Inputs as users have them, each written by the test: phone rotation metadata, variable frame rates,
10-bit and 4:2:2/4:4:4 pixel formats, greyscale, 4K and 64x48, one frame, wrong header frame rates,
audio-only files, black first frames, image folders of mixed sizes and EXIF orientation."""

from __future__ import annotations

import logging
import struct
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from mocap_app.capture import CaptureThread, ImageFolderSource, VideoFileSource, open_source
from mocap_app.capture import thread as capture_thread
from mocap_app.capture.thread import DEFAULT_MEMORY_BUDGET
from mocap_app.core import CameraIntrinsics
from mocap_app.core.channel import Channel
from mocap_app.core.errors import CaptureError

from .conftest import decode_index, frame_image, write_av, write_video


def quadrants(width: int = 320, height: int = 240) -> np.ndarray:
    """Four grey levels, one per quadrant: any rotation or mirror of it is told apart."""
    image = np.empty((height, width, 3), np.uint8)
    image[: height // 2, : width // 2], image[: height // 2, width // 2 :] = 40, 100
    image[height // 2 :, : width // 2], image[height // 2 :, width // 2 :] = 160, 220
    return image


def read_all(source) -> list:
    with CaptureThread(source, queue_size=4) as capture:
        return list(capture)


# -- orientation --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("rotation, hflip, vflip", [
    (0, False, False), (90, False, False), (180, False, False), (-90, False, False),
    (0, True, False), (0, False, True), (90, True, False), (-90, True, False),
])
def test_display_matrix_is_applied_rotations_and_mirrors(tmp_path: Path, rotation: int, hflip: bool,
                                                         vflip: bool) -> None:
    coded = quadrants()
    path = write_av(tmp_path / "clip.mp4", [coded] * 3, rotation=rotation, hflip=hflip, vflip=vflip)
    expected = np.rot90(coded, k=rotation // 90)  # PyAV's writer: counter-clockwise, then the mirrors
    expected = expected[:, ::-1] if hflip else expected
    expected = expected[::-1] if vflip else expected
    frames = read_all(VideoFileSource(path))
    assert len(frames) == 3
    assert frames[0].image.shape == expected.shape and frames[0].image.flags.c_contiguous
    assert np.abs(frames[0].image.astype(int) - expected).mean() < 4


def test_portrait_phone_video_comes_out_upright_with_portrait_intrinsics(tmp_path: Path) -> None:
    # A phone held upright records landscape sensor rows and tags them "turn 90° clockwise to show".
    coded = [frame_image(i, (320, 240)) for i in range(5)]
    path = write_av(tmp_path / "IMG_0001.MOV", coded, rotation=-90)
    source = open_source(path)
    assert (source.info.width, source.info.height) == (240, 320)
    frames = read_all(source)
    assert all(f.image.shape == (320, 240, 3) for f in frames)
    for i, frame in enumerate(frames):
        assert decode_index(np.rot90(frame.image)) == i  # turning it back gives the coded frame
    # Estimators take their intrinsics from the delivered frame: those of the upright (portrait) image.
    camera = CameraIntrinsics.from_fov(frames[0].width, frames[0].height)
    assert (camera.width, camera.height, camera.cx, camera.cy) == (240, 320, 120.0, 160.0)


# -- timing -------------------------------------------------------------------------------------------------

def jittered_pts_ms(count: int = 30) -> list[int]:
    """About 30 fps with ±10 ms jitter and a half-second pause after frame 9 (a phone dropping frames)."""
    steps = np.random.default_rng(0).integers(25, 45, count - 1)
    steps[9] += 500
    return [0, *np.cumsum(steps).tolist()]


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_variable_frame_rate_timestamps_are_the_containers(tmp_path: Path, suffix: str) -> None:
    pts_ms = jittered_pts_ms()
    path = write_av(tmp_path / f"vfr{suffix}", [frame_image(i) for i in range(len(pts_ms))], pts_ms=pts_ms)
    source = VideoFileSource(path)
    assert source.info.timing == "container"
    if suffix == ".mp4":  # the average rate (frames ÷ duration), not FFmpeg's r_frame_rate guess (2000)
        assert 15 < source.info.fps < 25
    else:  # Matroska states a default frame duration (the writer's 30 fps) and no frame count; OpenCV
        assert (source.info.fps, source.info.frame_count) == (30.0, None)  # guessed 46 frames: "truncated"
    frames = read_all(source)
    assert [decode_index(f.image) for f in frames] == list(range(len(pts_ms)))
    stamps_ms = np.array([f.timestamp_ns for f in frames]) / 1e6
    np.testing.assert_allclose(stamps_ms, pts_ms, atol=1.0)  # well within one frame (33 ms)


def patch_avi_rate(path: Path, fps: int) -> Path:
    """Rewrite an AVI's stream header rate (and main header frame period) to `fps`, like broken writers do."""
    data = bytearray(path.read_bytes())
    strh = data.find(b"strh") + 8
    struct.pack_into("<II", data, strh + 20, 1, fps)  # dwScale, dwRate
    avih = data.find(b"avih") + 8
    struct.pack_into("<I", data, avih, 1_000_000 // fps if fps else 0)  # dwMicroSecPerFrame
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("header_fps, fps, timing", [
    (1000, 30.0, "nominal"),  # implausible: frames spaced at 30 fps
    (0, 25.0, "container"),  # FFmpeg reads an AVI without a rate as 25 fps (its documented default)
])
def test_header_frame_rate_of_0_or_1000(tmp_path: Path, header_fps: int, fps: float, timing: str) -> None:
    path = patch_avi_rate(write_video(tmp_path / "clip.avi", 10, fourcc="MJPG"), header_fps)
    source = VideoFileSource(path)
    assert (source.info.fps, source.info.timing, source.info.frame_count) == (fps, timing, 10)
    frames = read_all(source)
    assert [decode_index(f.image) for f in frames] == list(range(10))
    np.testing.assert_allclose([f.timestamp_ns for f in frames], np.arange(10) * 1e9 / fps, atol=1e6)


def test_black_first_frames_are_frames_not_the_end(tmp_path: Path) -> None:
    images = [np.zeros((240, 320, 3), np.uint8)] * 8 + [frame_image(i) for i in range(8, 30)]
    source = VideoFileSource(write_av(tmp_path / "fade_in.mp4", images))
    assert (source.info.frame_count, source.info.width) == (30, 320)
    frames = read_all(source)
    assert len(frames) == 30 and all(f.image.max() < 10 for f in frames[:8])
    assert [decode_index(f.image) for f in frames[8:]] == list(range(8, 30))
    assert frames[-1].timestamp_ns == round(29e9 / 30)


def test_joined_recordings_keep_the_first_size_and_increasing_timestamps(tmp_path: Path, caplog) -> None:
    # MPEG-TS files joined byte for byte: the size changes midway and the timestamps start again.
    first = write_av(tmp_path / "a.ts", [frame_image(i) for i in range(10)])
    pts_ms = [0, 40, 80, 200, 240, 280, 320, 360, 400, 440]  # 25 fps with a pause: kept after the join
    second = write_av(tmp_path / "b.ts", [frame_image(i, (640, 480)) for i in range(10, 20)], pts_ms=pts_ms)
    joined = tmp_path / "joined.ts"
    joined.write_bytes(first.read_bytes() + second.read_bytes())
    with caplog.at_level(logging.WARNING):
        source = VideoFileSource(joined)
        frames = read_all(source)
    assert [f.image.shape for f in frames] == [(240, 320, 3)] * 20 and source.resized == 10
    assert [decode_index(f.image) for f in frames] == list(range(20))  # the same aspect: scaled to fit
    stamps_ms = np.array([f.timestamp_ns for f in frames]) / 1e6
    np.testing.assert_allclose(stamps_ms[:10], np.arange(10) * 1000 / 30, atol=1)
    np.testing.assert_allclose(stamps_ms[10:], stamps_ms[9] + 1000 / 30 + np.array(pts_ms), atol=1)
    assert "changes size at frame 10" in caplog.text and "timestamps start again at frame 10" in caplog.text


# -- formats and sizes --------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, codec, pix_fmt", [
    ("10bit.mp4", "libx264", "yuv420p10le"),
    ("422.mp4", "libx264", "yuv422p"),
    ("444.mp4", "libx264", "yuv444p"),
    ("422_10bit.mp4", "libx264", "yuv422p10le"),
    ("prores.mov", "prores_ks", "yuv422p10le"),
    ("grey.mkv", "ffv1", "gray"),
    ("grey10.mkv", "ffv1", "gray10le"),
    ("grey16.mkv", "ffv1", "gray16le"),
])
def test_pixel_formats_decode_to_8_bit_bgr(tmp_path: Path, name: str, codec: str, pix_fmt: str) -> None:
    source = VideoFileSource(write_av(tmp_path / name, [frame_image(i) for i in range(6)], codec, pix_fmt))
    frames = read_all(source)
    assert all(f.image.shape == (240, 320, 3) and f.image.dtype == np.uint8 for f in frames)
    assert [decode_index(f.image) for f in frames] == list(range(6))


@pytest.mark.parametrize("count, size", [(1, (320, 240)), (5, (64, 48))])
def test_one_frame_and_tiny_videos(tmp_path: Path, count: int, size: tuple[int, int]) -> None:
    image = np.zeros((size[1], size[0], 3), np.uint8)
    image[:, : size[0] // 2] = 200
    source = VideoFileSource(write_av(tmp_path / "clip.mp4", [image] * count))
    assert (source.info.frame_count, source.info.width, source.info.height) == (count, *size)
    frames = read_all(source)
    assert [f.image.shape for f in frames] == [(size[1], size[0], 3)] * count
    assert [f.timestamp_ns for f in frames] == [round(i * 1e9 / 30) for i in range(count)]
    assert abs(float(frames[0].image[:, : size[0] // 2].mean()) - 200) < 8


@pytest.mark.parametrize("name, codec, cover, holds", [
    ("voice.m4a", "aac", False, "1 audio"),
    ("song.mp3", "libmp3lame", True, "1 audio, 1 cover picture"),  # cover art: a one-picture video stream
])
def test_audio_only_file_says_it_has_no_video(tmp_path: Path, name: str, codec: str, cover: bool, holds: str) -> None:
    import av

    path = tmp_path / name
    with av.open(str(path), "w") as container:
        audio = container.add_stream(codec, rate=16000)
        if cover:
            picture = container.add_stream("mjpeg", rate=1)
            picture.width, picture.height, picture.pix_fmt = 64, 64, "yuvj420p"
            picture.disposition = av.stream.Disposition.attached_pic
            container.mux(picture.encode(av.VideoFrame.from_ndarray(np.zeros((64, 64, 3), np.uint8), format="bgr24")))
            container.mux(picture.encode())
        for i in range(10):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1152), np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 16000, i * 1152
            container.mux(audio.encode(frame))
        container.mux(audio.encode())
    with pytest.raises(CaptureError, match=rf"{name} has no video stream \(it holds {holds}\)"):
        open_source(path)


# -- memory -------------------------------------------------------------------------------------------------

def run_like_a_pipeline(capture: CaptureThread, downstream_size: int, delay_s: float, warmup_s: float = 0.0,
                        ) -> list[int]:
    """Consume `capture` the way the pipeline does: a stage moves frames into deep queues (here one
    `downstream_size` channel), and a last stage that first warms up for `warmup_s` (a model's first call)
    takes them out, one per `delay_s`."""
    downstream: Channel = Channel(downstream_size)

    def stage() -> None:
        for frame in capture:
            downstream.put(frame)
        downstream.close()

    mover = threading.Thread(target=stage)
    mover.start()
    time.sleep(warmup_s)
    indices = []
    while (frame := downstream.get()) is not None:
        indices.append(frame.index)
        del frame
        time.sleep(delay_s)
    mover.join()
    return indices


def test_frames_alive_stay_within_the_memory_budget(tmp_path: Path) -> None:
    path = write_video(tmp_path / "clip.mp4", 40)
    budget = 1_000_000  # four 320x240 BGR images
    with CaptureThread(VideoFileSource(path), queue_size=8, memory_budget=budget) as capture:
        assert run_like_a_pipeline(capture, downstream_size=40, delay_s=0.002) == list(range(40))
    assert 3 * 320 * 240 * 3 <= capture.peak_alive_bytes <= budget


def test_a_consumer_that_keeps_every_frame_is_not_dead_locked(tmp_path: Path, monkeypatch, caplog) -> None:
    monkeypatch.setattr(capture_thread, "STALL_S", 0.3)
    with caplog.at_level(logging.WARNING), \
            CaptureThread(VideoFileSource(write_video(tmp_path / "clip.mp4", 12)), memory_budget=500_000) as capture:
        start = time.monotonic()
        assert [f.index for f in list(capture)] == list(range(12))
    assert time.monotonic() - start < 5 and "keeps its frames" in caplog.text


def resident_bytes() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmRSS:"))


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the resident size from /proc")
def test_4k_video_memory_stays_bounded(tmp_path: Path) -> None:
    size = (3840, 2160)  # 25 MB per BGR image, 50 MB with its RGB copy
    path = write_av(tmp_path / "4k.mp4", (frame_image(i, size) for i in range(20)), options={"preset": "ultrafast"})
    before, peak, done = resident_bytes(), [0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], resident_bytes())
            time.sleep(0.005)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        with CaptureThread(VideoFileSource(path), queue_size=8, prepare=lambda frame: frame.rgb) as capture:
            # While the consumer warms up, the queues downstream could take all 20 frames (1 GB).
            indices = run_like_a_pipeline(capture, downstream_size=40, delay_s=0.0, warmup_s=1.5)
    finally:
        done.set()
        sampler.join()
    assert indices == list(range(20))
    assert capture.peak_alive_bytes <= DEFAULT_MEMORY_BUDGET
    growth = peak[0] - before  # the decoder and about 10 frames alive
    assert growth < DEFAULT_MEMORY_BUDGET + 150 * 2**20, f"{growth / 2**20:.0f} MiB"


# -- image folders ------------------------------------------------------------------------------------------

def test_image_folder_of_mixed_sizes_keeps_every_frame_letterboxed_to_the_first(tmp_path: Path, caplog) -> None:
    for i in range(30):  # 8 at the first image's 320x240, 22 others: twice as large, portrait, small greyscale
        kind = i % 4
        if kind == 0:
            image = frame_image(i)
        elif kind == 1:
            image = frame_image(i, (640, 480))
        elif kind == 2:
            image = frame_image(i, (240, 320))
        else:
            image = cv2.cvtColor(frame_image(i, (160, 120)), cv2.COLOR_BGR2GRAY)
        cv2.imwrite(str(tmp_path / f"frame{i}.png"), image)
    with caplog.at_level(logging.WARNING):
        source = open_source(tmp_path)
        frames = read_all(source)
    assert len(frames) == 30 and all(f.image.shape == (240, 320, 3) for f in frames)
    same_aspect = [f for f in frames if f.index % 4 != 2]
    assert [decode_index(f.image) for f in same_aspect] == [f.index for f in same_aspect]
    portrait = frames[2].image  # 240x320 scaled to 180x240, centred: black bars left and right
    assert portrait[:, :60].max() == 0 and portrait[:, -60:].max() == 0 and portrait[:, 70:250].max() > 0
    assert source.letterboxed == 22 and "frame1.png is 640x480, not 320x240" in caplog.text
    np.testing.assert_array_equal([f.timestamp_ns for f in frames], np.round(np.arange(30) * 1e9 / 30))


def test_image_folder_applies_exif_orientation(tmp_path: Path) -> None:
    pil = pytest.importorskip("PIL.Image")
    coded = quadrants()  # stored landscape, EXIF 6: "turn 90° clockwise to show" (a phone photo held upright)
    exif = pil.Exif()
    exif[0x0112] = 6
    pil.fromarray(coded[..., ::-1]).save(tmp_path / "a.jpg", exif=exif, quality=95)
    cv2.imwrite(str(tmp_path / "b.jpg"), np.rot90(coded, k=-1))  # the same picture stored upright
    source = ImageFolderSource(tmp_path)
    assert (source.info.width, source.info.height) == (240, 320)
    first, second = (f.image.astype(int) for f in read_all(source))
    assert np.abs(first - second).mean() < 4 and source.letterboxed == 0


def _decoder_threads() -> int:
    """FFmpeg's frame threads in this process (Linux names them av:<codec>:df<k>)."""
    tasks = Path("/proc/self/task")
    return sum((task / "comm").read_text().startswith("av:") for task in tasks.iterdir())


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="counts threads through Linux's /proc")
def test_closing_a_video_stops_its_decoder_threads() -> None:
    import gc

    sample = Path(__file__).resolve().parents[2] / "assets" / "samples" / "demo.mp4"
    gc.disable()  # the leak was a reference cycle: without the collector, only close() can free the threads
    try:
        before = _decoder_threads()
        for _ in range(3):
            video = VideoFileSource(sample)
            assert video.read() is not None
            video.close()
        assert _decoder_threads() == before
    finally:
        gc.enable()
