"""IouTracker on synthetic box sequences: crossings, occlusions, returns, id bookkeeping."""

from __future__ import annotations

import numpy as np
import pytest

from mocap_app.core.errors import ConfigError
from mocap_app.core.frames import Detection
from mocap_app.detect import IouTracker, TrackerConfig, iou_matrix


def person(cx: float, cy: float, height: float, score: float = 0.9) -> Detection:
    """A standing person's box (w = h / 2) centred on (cx, cy)."""
    return Detection(np.array([cx - height / 4, cy - height / 2, cx + height / 4, cy + height / 2]), score)


def ids_by_x(tracked: list[Detection]) -> list[int]:
    """Track ids ordered left to right."""
    return [d.track_id for d in sorted(tracked, key=lambda d: d.box[0] + d.box[2])]


def crossing(num_frames: int, jitter_px: float, seed: int = 0) -> list[tuple[Detection, Detection]]:
    """Two people of about the same size walking across each other, A left→right, B right→left, ~15 px a
    frame each: around the crossing each box overlaps the other person's previous box more than its own, so
    matching on last boxes alone would swap the ids; the velocity prediction keeps them."""
    rng = np.random.default_rng(seed)
    out = []
    for t in range(num_frames):
        ax, bx = 100 + 440 * t / (num_frames - 1), 540 - 440 * t / (num_frames - 1)
        noise = rng.normal(0.0, jitter_px, 4)
        out.append((person(ax + noise[0], 240 + noise[1], 280), person(bx + noise[2], 236 + noise[3], 270)))
    return out


def test_crossing_people_keep_their_ids() -> None:
    tracker = IouTracker()
    seen_a, seen_b = set(), set()
    for t, (a, b) in enumerate(crossing(30, jitter_px=2.0)):
        tracked = tracker.update([b, a] if t % 2 else [a, b], t)  # input order must not matter
        assert len(tracked) == 2
        by_box = {tuple(d.box): d.track_id for d in tracked}
        seen_a.add(by_box[tuple(a.box)])
        seen_b.add(by_box[tuple(b.box)])
    assert len(seen_a) == 1 and len(seen_b) == 1 and seen_a != seen_b


def test_crossing_with_occlusion_keeps_ids() -> None:
    """While crossing, the farther person B is hidden behind A for 8 frames and reappears on the other side."""
    tracker = IouTracker()
    frames = crossing(30, jitter_px=1.5, seed=1)
    ids_a, ids_b = [], []
    for t, (a, b) in enumerate(frames):
        hidden = 11 <= t < 19
        tracked = tracker.update([a] if hidden else [a, b], t)
        by_box = {tuple(d.box): d.track_id for d in tracked}
        ids_a.append(by_box[tuple(a.box)])
        if not hidden:
            ids_b.append(by_box[tuple(b.box)])
    assert set(ids_a) == {ids_a[0]}
    assert set(ids_b) == {ids_b[0]} and ids_b[0] != ids_a[0]


def test_person_leaving_for_ten_frames_and_returning_close_gets_the_old_id() -> None:
    tracker = IouTracker()
    other = person(500, 240, 300)
    for t in range(10):
        first = tracker.update([person(150 + t, 240, 300), other], t)
    old_id = ids_by_x(first)[0]
    for t in range(10, 20):  # gone for 10 frames (the other person stays)
        assert [d.track_id for d in tracker.update([other], t)] == [ids_by_x(first)[1]]
    back = tracker.update([person(175, 245, 290), other], 20)  # 15 px from where it left
    assert ids_by_x(back) == ids_by_x(first) and ids_by_x(back)[0] == old_id


def test_person_returning_far_away_gets_a_new_id() -> None:
    tracker = IouTracker()
    for t in range(10):
        old = tracker.update([person(150, 240, 300)], t)
    back = tracker.update([person(450, 240, 300)], 20)  # gone 10 frames, back a box height away
    assert back[0].track_id != old[0].track_id


def test_person_gone_longer_than_max_missed_frames_gets_a_new_id() -> None:
    tracker = IouTracker(TrackerConfig(max_missed_frames=10))
    old = tracker.update([person(150, 240, 300)], 0)
    assert tracker.update([person(150, 240, 300)], 11)[0].track_id == old[0].track_id  # 10 frames unseen
    assert tracker.update([person(150, 240, 300)], 23)[0].track_id != old[0].track_id  # 11 frames unseen


def test_moving_person_hidden_is_found_where_its_velocity_takes_it() -> None:
    """Walking 12 px/frame, hidden for 5 frames: it reappears ~70 px on, beyond the IoU of its last box."""
    tracker = IouTracker(TrackerConfig(max_center_distance=0.1))  # only the prediction can bridge the gap
    for t in range(8):
        old = tracker.update([person(100 + 12 * t, 240, 200)], t)
    back = tracker.update([person(100 + 12 * 14, 240, 200)], 14)
    last_box = person(100 + 12 * 7, 240, 200).box
    assert iou_matrix(last_box[None], back[0].box[None])[0, 0] < 0.3
    assert back[0].track_id == old[0].track_id


def test_ids_are_never_reused_within_a_video_and_start_again_in_the_next() -> None:
    tracker = IouTracker(TrackerConfig(max_missed_frames=2))
    seen = []
    for t in range(0, 60, 6):  # a new person every 6 frames, each time elsewhere
        tracked = tracker.update([person(100 + 40 * (t // 6), 240, 200)], t)
        seen.append(tracked[0].track_id)
    assert len(set(seen)) == len(seen) == 10
    tracker.reset()  # the next video: its people are named as if it were the first
    assert tracker.update([person(100, 240, 200)], 0)[0].track_id == seen[0] == 0


def test_min_hits_hides_one_frame_false_detections() -> None:
    tracker = IouTracker(TrackerConfig(min_hits=3))
    assert tracker.update([person(300, 240, 300)], 0) == []
    assert tracker.update([person(302, 240, 300), person(80, 100, 100)], 1) == []  # a one-frame ghost
    confirmed = tracker.update([person(304, 240, 300)], 2)
    assert [d.track_id for d in confirmed] == [0]  # the ghost never took an id
    assert tracker.update([person(80, 100, 100)], 3) == []


def test_tracker_is_deterministic() -> None:
    runs = []
    for _ in range(2):
        tracker = IouTracker()
        runs.append([[(d.track_id, *d.box.tolist()) for d in tracker.update([a, b], t)]
                     for t, (a, b) in enumerate(crossing(30, jitter_px=3.0, seed=7))])
    assert runs[0] == runs[1]


def test_frame_index_must_increase() -> None:
    tracker = IouTracker()
    tracker.update([], 5)
    with pytest.raises(ValueError, match="increase"):
        tracker.update([], 5)


def test_bad_settings_raise_config_error() -> None:
    with pytest.raises(ConfigError, match="min_iou"):
        TrackerConfig(min_iou=0.0)
    with pytest.raises(ConfigError, match="min_hits"):
        TrackerConfig(min_hits=0)
