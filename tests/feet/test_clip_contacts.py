"""The per-foot contact channel of `MotionClip`: saved, loaded, optional."""

from __future__ import annotations

import numpy as np
import pytest

from mocap_app.body import motions
from mocap_app.core.errors import ClipFormatError
from mocap_app.core.params import MotionClip
from mocap_app.pipeline.evaluation.feet import CAMERA


def test_foot_contact_round_trips_through_the_clip_file(tmp_path):
    clip = motions.place_grounded(motions.walk(30), CAMERA)
    loaded = MotionClip.load(clip.save(tmp_path / "walk.npz"))
    assert np.array_equal(loaded.foot_contact, clip.foot_contact)


def test_clip_without_contacts_saves_and_loads_without_them(tmp_path):
    clip = motions.swinging_clip(10)
    path = clip.save(tmp_path / "old.npz")
    with np.load(path) as data:
        assert "foot_contact" not in data.files
    assert MotionClip.load(path).foot_contact is None


def test_contacts_of_the_wrong_shape_are_a_clip_format_error(tmp_path):
    arrays = motions.place_grounded(motions.walk(12), CAMERA).npz_arrays()
    arrays["foot_contact"] = np.ones((12, 3), np.float32)
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ClipFormatError, match="foot_contact"):
        MotionClip.load(tmp_path / "bad.npz")
