"""SMPL-X .npz writer: the MotionClip's own arrays plus the keys common SMPL-X tooling reads (AMASS layout).

Tool keys: `poses` (T, 165) axis-angle in smplx joint order, `trans` (T, 3) metres, `betas` (10,)
one body shape for the sequence (the per-frame mean), `mocap_frame_rate`, `gender`,
`surface_model_type` = "smplx", and the split `root_orient` (T, 3), `pose_body` (T, 63),
`pose_hand` (T, 90), `pose_jaw` (T, 3), `pose_eye` (T, 6). Rotations and `trans` stay in the clip's
camera frame (what smplx's forward with `global_orient`/`transl` expects).
Because tools read `betas` as one vector, the clip's per-frame betas are stored as `betas_per_frame`;
`load_exported_npz` reads such a file back into a `MotionClip`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import BinaryIO, ClassVar

import numpy as np

from mocap_app.core.errors import ClipFormatError
from mocap_app.core.files import atomic_write
from mocap_app.core.params import POSE_FIELDS, MotionClip

from .base import ExportOptions, check_clip


def npz_arrays(clip: MotionClip) -> dict[str, np.ndarray]:
    """Every array the exported .npz holds."""
    poses = clip.full_pose().reshape(clip.num_frames, -1)
    flat = {name: getattr(clip, name).reshape(clip.num_frames, -1) for name in POSE_FIELDS}
    # The clip's own file (its `gender` is a tool key too), the per-frame betas renamed: tools read one `betas`.
    arrays = clip.npz_arrays()
    arrays["betas_per_frame"] = arrays.pop("betas")
    arrays |= {
        "poses": poses,
        "trans": clip.transl,
        "betas": clip.betas.mean(axis=0).astype(np.float32),
        "num_betas": np.array(clip.betas.shape[1]),
        "mocap_frame_rate": np.array(clip.fps, dtype=np.float64),
        "surface_model_type": np.array("smplx"),
        "root_orient": flat["global_orient"],
        "pose_body": flat["body_pose"],
        "pose_jaw": flat["jaw_pose"],
        "pose_eye": np.concatenate([flat["leye_pose"], flat["reye_pose"]], axis=1),
        "pose_hand": np.concatenate([flat["left_hand_pose"], flat["right_hand_pose"]], axis=1),
    }
    return arrays


def load_exported_npz(path: Path) -> MotionClip:
    """Read an .npz written by `NpzExporter` back into the clip it came from."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            contents = {key: data[key] for key in data.files}
    except (OSError, ValueError, EOFError) as exc:
        raise ClipFormatError(f"{path} is not a readable .npz file ({exc}).",
                              "Pass an .npz written by `python main.py export`.") from exc
    if "betas_per_frame" not in contents:
        raise ClipFormatError(f"{path} was not written by the npz exporter (no 'betas_per_frame').",
                              "Load mocap clips with MotionClip.load instead.")
    arrays = {name: contents[name] for name in MotionClip.ARRAY_SPECS if name != "betas"}
    try:
        return MotionClip(**arrays, betas=contents["betas_per_frame"], fps=float(contents["fps"]),
                          track_id=int(contents["track_id"]), gender=str(contents["gender"]),
                          source=json.loads(str(contents["source_json"])), foot_contact=contents.get("foot_contact"))
    except (KeyError, ValueError) as exc:
        raise ClipFormatError(f"{path}: {exc}.", "Re-export the clip.") from exc


class NpzExporter:
    """Writes .npz for SMPL-X tools (AMASS-style keys) that also round-trips to a MotionClip."""

    format: ClassVar[str] = "npz"
    suffix: ClassVar[str] = ".npz"
    options: ClassVar[tuple[str, ...]] = ()

    def write(self, clip: MotionClip, path: Path, options: ExportOptions) -> Path:
        check_clip(clip)
        arrays = npz_arrays(clip)

        def write(handle: BinaryIO) -> None:
            np.savez(handle, **arrays)

        return atomic_write(Path(path), write)
