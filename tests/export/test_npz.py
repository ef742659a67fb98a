"""SMPL-X npz: AMASS-style keys for SMPL-X tools, and a lossless way back to the clip."""

from __future__ import annotations

import numpy as np

from mocap_app.export import export_clip, load_exported_npz


def test_npz_has_tool_keys_and_round_trips(clip, tmp_path):
    path = export_clip(clip, tmp_path / "take.npz")
    with np.load(path) as data:
        assert data["poses"].shape == (clip.num_frames, 165)
        np.testing.assert_array_equal(data["poses"].reshape(-1, 55, 3), clip.full_pose())
        np.testing.assert_array_equal(data["trans"], clip.transl)
        assert data["betas"].shape == (10,)
        np.testing.assert_allclose(data["betas"], clip.betas.mean(axis=0), rtol=1e-6)
        assert float(data["mocap_frame_rate"]) == clip.fps
        assert str(data["gender"]) == "female"
        assert str(data["surface_model_type"]) == "smplx"
        np.testing.assert_array_equal(data["root_orient"], clip.global_orient)
        np.testing.assert_array_equal(data["pose_body"], clip.body_pose.reshape(-1, 63))
        np.testing.assert_array_equal(data["pose_hand"][:, 45:], clip.right_hand_pose.reshape(-1, 45))
    back = load_exported_npz(path)
    for name in ("global_orient", "body_pose", "left_hand_pose", "betas", "expression", "transl", "camera",
                 "frame_index", "timestamp_ns"):
        np.testing.assert_array_equal(getattr(back, name), getattr(clip, name))
    assert (back.fps, back.gender, back.source) == (clip.fps, clip.gender, clip.source)
