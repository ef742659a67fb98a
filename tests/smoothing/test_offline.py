"""smooth_clip: zero-lag RTS over a clip, segments, filled gaps, betas; the one-euro filter's formula."""

from __future__ import annotations

import math

import numpy as np

from mocap_app.core.params import MotionClip
from mocap_app.smoothing import OnlineSmoother, smooth_clip, smoothing_config
from mocap_app.smoothing.offline import segments
from mocap_app.smoothing.one_euro import OneEuroBank

from .conftest import record


def _clip(frame_indices: list[int], seed: int = 0) -> MotionClip:
    rng = np.random.default_rng(seed)
    frames = []
    for f in frame_indices:
        pose = rng.normal(0, np.radians(2.0), (55, 3))
        pose[18, 1] += np.radians(40.0) * np.sin(2 * np.pi * f / 60)
        frames.append(record(pose, f, transl=[0.01 * f, 0.0, 3.0], betas=rng.normal(size=10),
                             confidence=rng.uniform(0.5, 1.0), box=[f, 0, f + 10, 10]))
    return MotionClip.from_params(frames, fps=30.0, source={"input": "test"})


def test_segments_split_at_long_gaps_and_restarts() -> None:
    assert segments(np.array([0, 1, 2, 5, 6, 20, 21, 3, 4]), max_missing_frames=3) == [(0, 5), (5, 7), (7, 9)]


def test_smooth_clip_keeps_frames_and_metadata_and_has_no_lag() -> None:
    indices = [i for i in range(120) if i not in (40, 41, 42, 90)]
    clip = _clip(indices)
    smoothed = smooth_clip(clip, smoothing_config("medium"))
    assert smoothed.num_frames == clip.num_frames
    np.testing.assert_array_equal(smoothed.frame_index, clip.frame_index)
    np.testing.assert_array_equal(smoothed.box, clip.box)
    np.testing.assert_array_equal(smoothed.timestamp_ns, clip.timestamp_ns)
    assert smoothed.source == clip.source and smoothed.fps == clip.fps
    # Betas: one confidence-weighted mean for the whole segment.
    expected = (clip.confidence[:, None] * clip.betas).sum(0) / clip.confidence.sum()
    np.testing.assert_allclose(smoothed.betas, np.broadcast_to(expected, clip.betas.shape), atol=1e-5)
    # The elbow's sine: smoothed, and in phase with the truth (offline = no lag).
    truth = np.radians(40.0) * np.sin(2 * np.pi * clip.frame_index / 60)
    raw_error = np.abs(clip.body_pose[:, 17, 1] - truth).mean()
    smooth_error = np.abs(smoothed.body_pose[:, 17, 1] - truth).mean()
    assert smooth_error < 0.6 * raw_error
    online = OnlineSmoother(smoothing_config("medium"))
    online_out = np.array([online([clip.frame(i)])[0].body_pose[17, 1] for i in range(clip.num_frames)])
    assert smooth_error < np.abs(online_out - truth).mean()


def test_fill_gaps_returns_predicted_frames_inside_segments_only() -> None:
    indices = [*range(0, 30), *range(33, 50), *range(80, 100)]  # gap of 3 (bridged) and of 30 (new segment)
    clip = _clip(indices)
    filled = smooth_clip(clip, smoothing_config("medium", max_missing_frames=5), fill_gaps=True)
    assert filled.frame_index.tolist() == [*range(0, 50), *range(80, 100)]
    inserted = np.isin(filled.frame_index, [30, 31, 32])
    assert (filled.confidence[inserted] == 0).all() and not filled.joint_confidence[inserted].any()
    assert (filled.confidence[~inserted] > 0).all()
    np.testing.assert_array_equal(filled.box[inserted], np.repeat(clip.box[29:30], 3, axis=0))
    np.testing.assert_allclose(filled.transl[inserted, 0], [0.30, 0.31, 0.32], atol=0.01)
    np.testing.assert_array_equal(filled.timestamp_ns[inserted], [30 * 33_333_333 + k * 33_333_333 for k in range(3)])
    # Betas are per segment.
    assert not np.allclose(filled.betas[0], filled.betas[-1])


def test_off_and_one_euro_clips() -> None:
    clip = _clip(list(range(30)))
    assert smooth_clip(clip, smoothing_config("off")) is clip
    euro = smooth_clip(clip, smoothing_config("medium", method="one_euro"))
    assert euro.num_frames == 30 and not np.allclose(euro.body_pose, clip.body_pose)


def test_one_euro_bank_follows_the_published_formula() -> None:
    """Vectorised bank == the scalar algorithm of Casiez et al. (2012) written out plainly."""
    fps, min_cutoff, beta, d_cutoff = 30.0, 1.2, 0.8, 1.0
    rng = np.random.default_rng(0)
    signal = np.cumsum(rng.normal(0, 0.1, (50, 3)), axis=0)

    def alpha(cutoff: float, dt: float) -> float:
        return 1.0 / (1.0 + 1.0 / (2 * math.pi * cutoff) / dt)

    expected = np.empty_like(signal)
    for d in range(3):
        x, dx = signal[0, d], 0.0
        expected[0, d] = x
        for t in range(1, len(signal)):
            dt = 1.0 / fps
            dx = dx + alpha(d_cutoff, dt) * ((signal[t, d] - x) / dt - dx)
            x = x + alpha(min_cutoff + beta * abs(dx), dt) * (signal[t, d] - x)
            expected[t, d] = x
    bank = OneEuroBank(3, fps, min_cutoff, beta, d_cutoff)
    bank.initialise(signal[0])
    got = [bank.x.copy()]
    for t in range(1, len(signal)):
        bank.advance(1)
        bank.update(signal[t], np.ones(3, dtype=bool))
        got.append(bank.x.copy())
    np.testing.assert_allclose(np.array(got), expected, rtol=0, atol=1e-12)
