"""The canonical SMPL-X parameter record (one person, one frame) and a motion clip (one track, T frames).

Rotations are axis-angle vectors in radians, in smplx's conventions (each joint's rotation is
relative to its parent; `global_orient` rotates the pelvis in the camera frame). Translations are
metres in the camera frame of the image they were estimated from: x right, y down, z forward
(OpenCV). Joint order of `full_pose` is smplx's: root, 21 body joints, jaw, left eye, right eye,
15 left-hand joints, 15 right-hand joints (see `core.skeleton.JOINT_NAMES`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from .errors import ClipFormatError
from .face import NUM_ARKIT_SHAPES
from .files import atomic_write
from .frames import CameraIntrinsics, _frozen_array
from .skeleton import NUM_JOINTS

NUM_BODY_JOINTS = 21
NUM_HAND_JOINTS = 15
NUM_BETAS = 10
NUM_EXPRESSION = 10

# Pose fields in full-pose order, with their per-frame shapes.
POSE_FIELDS: dict[str, tuple[int, ...]] = {
    "global_orient": (3,),
    "body_pose": (NUM_BODY_JOINTS, 3),
    "jaw_pose": (3,),
    "leye_pose": (3,),
    "reye_pose": (3,),
    "left_hand_pose": (NUM_HAND_JOINTS, 3),
    "right_hand_pose": (NUM_HAND_JOINTS, 3),
}
SHAPE_FIELDS: dict[str, tuple[int, ...]] = {
    "betas": (NUM_BETAS,),
    "expression": (NUM_EXPRESSION,),
    "transl": (3,),
}
# Every float32 array of a `SmplxParams` in this order, with its per-frame shape (a `MotionClip` stacks them).
PARAM_FIELDS: dict[str, tuple[int, ...]] = {**POSE_FIELDS, **SHAPE_FIELDS}
# Every array a `MotionClip` holds: name -> (dtype, per-frame shape); `SmplxParams.arrays` gives one frame's values.
CLIP_ARRAYS: dict[str, tuple[type, tuple[int, ...]]] = {
    **{name: (np.float32, shape) for name, shape in PARAM_FIELDS.items()},
    "camera": (np.float64, (6,)),
    "confidence": (np.float32, ()),
    "joint_confidence": (np.float32, (NUM_JOINTS,)),
    "box": (np.float32, (4,)),
    "frame_index": (np.int64, ()),
    "timestamp_ns": (np.int64, ()),
    "face_weights": (np.float32, (NUM_ARKIT_SHAPES,)),
}
OPTIONAL_ARRAYS = ("face_weights",)  # clips and journals written before it existed read it as zeros


def split_full_pose(full_pose: np.ndarray) -> dict[str, np.ndarray]:
    """(..., 55, 3) axis-angle in smplx joint order → the pose fields, each (..., *POSE_FIELDS[name]).

    Works for one frame (55, 3) and for T stacked frames (T, 55, 3); the fields are views of `full_pose`
    where numpy can give them. The inverse is `join_full_pose`.
    """
    pose = np.asarray(full_pose)
    if pose.shape[-2:] != (NUM_JOINTS, 3):
        raise ValueError(f"a full pose is (..., {NUM_JOINTS}, 3), got shape {pose.shape}")
    fields, start = {}, 0
    for name, shape in POSE_FIELDS.items():
        count = math.prod(shape) // 3
        fields[name] = pose[..., start : start + count, :].reshape(*pose.shape[:-2], *shape)
        start += count
    return fields


def join_full_pose(fields: Mapping[str, np.ndarray]) -> np.ndarray:
    """The pose fields (one frame, or T frames stacked as in `MotionClip`) → (..., 55, 3) in smplx joint order."""
    leading = np.shape(fields["global_orient"])[:-1]
    return np.concatenate([np.reshape(fields[name], (*leading, -1, 3)) for name in POSE_FIELDS], axis=-2)


@dataclass(frozen=True)
class _SmplxArrays:
    """The pose and shape arrays `SmplxParams` (one frame) and `MotionClip` (T frames, stacked) share.

    Declared in the constructors' argument order; the names are those of `PARAM_FIELDS`
    (tests/core/test_params.py keeps the two in step).
    """

    global_orient: np.ndarray
    body_pose: np.ndarray
    left_hand_pose: np.ndarray
    right_hand_pose: np.ndarray
    jaw_pose: np.ndarray
    leye_pose: np.ndarray
    reye_pose: np.ndarray
    betas: np.ndarray
    expression: np.ndarray
    transl: np.ndarray

    def full_pose(self) -> np.ndarray:
        """float32 axis-angle of every joint in smplx order: (55, 3) for a record, (T, 55, 3) for a clip."""
        return join_full_pose({name: getattr(self, name) for name in POSE_FIELDS})


@dataclass(frozen=True)
class SmplxParams(_SmplxArrays):
    """One person in one frame.

    global_orient: (3,) axis-angle, radians — pelvis rotation in the camera frame.
    body_pose: (21, 3) axis-angle, radians — joints 1..21 of the SMPL-X skeleton.
    left_hand_pose, right_hand_pose: (15, 3) axis-angle, radians — full hand pose (no PCA),
        flat hand = zeros.
    jaw_pose, leye_pose, reye_pose: (3,) axis-angle, radians.
    betas: (10,) shape coefficients. expression: (10,) expression coefficients.
    transl: (3,) metres — smplx's `transl` in the camera frame (x right, y down, z forward).
    camera: intrinsics of the image the estimate refers to (pixels).
    track_id: identity of the person across frames. confidence: overall estimate confidence in [0, 1].
    joint_confidence: (55,) per-joint confidence in [0, 1], smplx joint order; low = the estimator
        kept a previous/neutral value for that joint.
    box: (4,) xyxy person box in image pixels. frame_index: index of the source frame.
    timestamp_ns: capture timestamp of the source frame (`Frame.timestamp_ns`).
    face_weights: (52,) ARKit blend-shape weights in [0, 1], `core.face.ARKIT_SHAPES` order (the face as the
        estimator read it; zeros when it reads none). `expression` stays SMPL-X's own coefficients.
    All arrays are float32 and read-only.
    """

    camera: CameraIntrinsics
    track_id: int = 0
    confidence: float = 1.0
    joint_confidence: np.ndarray | None = None
    box: np.ndarray | None = None
    frame_index: int = 0
    timestamp_ns: int = 0
    face_weights: np.ndarray | None = None

    def __post_init__(self) -> None:
        for name, shape in PARAM_FIELDS.items():
            object.__setattr__(self, name, _frozen_array(getattr(self, name), np.float32, shape, name))
        face = np.zeros(NUM_ARKIT_SHAPES) if self.face_weights is None else self.face_weights
        object.__setattr__(self, "face_weights", _frozen_array(face, np.float32, (NUM_ARKIT_SHAPES,), "face_weights"))
        conf = np.ones(NUM_JOINTS) if self.joint_confidence is None else self.joint_confidence
        object.__setattr__(self, "joint_confidence",
                           _frozen_array(conf, np.float32, (NUM_JOINTS,), "joint_confidence"))
        box = np.zeros(4) if self.box is None else self.box
        object.__setattr__(self, "box", _frozen_array(box, np.float32, (4,), "box"))
        for name in (*PARAM_FIELDS, "face_weights"):
            if not np.isfinite(getattr(self, name)).all():
                raise ValueError(f"{name} contains NaN or infinite values")

    @classmethod
    def neutral(cls, camera: CameraIntrinsics, **overrides: object) -> SmplxParams:
        """Rest pose (all rotations zero), mean shape, neutral face, 3 m in front of the camera."""
        values: dict[str, object] = {name: np.zeros(shape) for name, shape in POSE_FIELDS.items()}
        values |= {"betas": np.zeros(NUM_BETAS), "expression": np.zeros(NUM_EXPRESSION),
                   "transl": np.array([0.0, 0.0, 3.0])}
        values |= overrides
        return cls(camera=camera, **values)  # type: ignore[arg-type]

    def arrays(self) -> dict[str, Any]:
        """This frame's value of every array of a clip (`CLIP_ARRAYS`; the camera as `CameraIntrinsics.as_array`)."""
        values = {name: getattr(self, name) for name in CLIP_ARRAYS}
        values["camera"] = self.camera.as_array()
        return values

    @classmethod
    def from_arrays(cls, values: Mapping[str, Any], track_id: int = 0) -> SmplxParams:
        """The record of one frame's `arrays` (a mapping, or a structured array row, holding `CLIP_ARRAYS`)."""
        fields = {name: values[name] for name in (*PARAM_FIELDS, "joint_confidence", "box", "face_weights")}
        return cls(**fields, camera=CameraIntrinsics.from_array(values["camera"]), track_id=track_id,
                   confidence=float(values["confidence"]), frame_index=int(values["frame_index"]),
                   timestamp_ns=int(values["timestamp_ns"]))


@dataclass(frozen=True)
class MotionClip(_SmplxArrays):
    """T frames of one tracked person, stacked; field meanings and units as in `SmplxParams`.

    global_orient, jaw_pose, leye_pose, reye_pose: (T, 3). body_pose: (T, 21, 3).
    left_hand_pose, right_hand_pose: (T, 15, 3). betas, expression: (T, 10). transl: (T, 3).
    camera: (T, 6) float64 — fx, fy, cx, cy, width, height per frame.
    confidence: (T,). joint_confidence: (T, 55). box: (T, 4) xyxy pixels.
    frame_index: (T,) int64 source frame indices (gaps = frames where the person was not seen).
    timestamp_ns: (T,) int64 capture timestamps.
    fps: frame rate of the source, frames per second. track_id: the person's identity.
    source: free-form metadata (input file, estimator, config) — JSON-serialisable values only.
    foot_contact: (T, 2) float32 in [0, 1], left and right foot: 1 where the foot is planted on the floor
        (`body.feet.clean_feet`), or None when contacts were not detected (clips from before they were).
    face_weights: (T, 52) ARKit blend-shape weights as in `SmplxParams`; None when built gives zeros.
    """

    SCHEMA_VERSION: ClassVar[int] = 1

    camera: np.ndarray
    confidence: np.ndarray
    joint_confidence: np.ndarray
    box: np.ndarray
    frame_index: np.ndarray
    timestamp_ns: np.ndarray
    fps: float
    track_id: int = 0
    gender: str = "neutral"
    source: dict | None = None
    foot_contact: np.ndarray | None = None
    face_weights: np.ndarray | None = None

    # name -> (dtype, per-frame shape)
    ARRAY_SPECS: ClassVar[dict[str, tuple[type, tuple[int, ...]]]] = CLIP_ARRAYS

    def __post_init__(self) -> None:
        num_frames = len(np.asarray(self.global_orient))
        for name in OPTIONAL_ARRAYS:
            if getattr(self, name) is None:
                dtype, shape = self.ARRAY_SPECS[name]
                object.__setattr__(self, name, np.zeros((num_frames, *shape), dtype))
        for name, (dtype, shape) in self.ARRAY_SPECS.items():
            object.__setattr__(self, name, _frozen_array(getattr(self, name), dtype, (num_frames, *shape), name))
        if not (np.isfinite(self.fps) and self.fps > 0):
            raise ValueError(f"fps must be a positive number, got {self.fps}")
        if self.gender not in ("neutral", "male", "female"):
            raise ValueError(f"gender must be neutral, male or female, got {self.gender!r}")
        object.__setattr__(self, "source", dict(self.source or {}))
        if self.foot_contact is not None:
            object.__setattr__(self, "foot_contact",
                               _frozen_array(self.foot_contact, np.float32, (num_frames, 2), "foot_contact"))

    @property
    def num_frames(self) -> int:
        return int(self.global_orient.shape[0])

    def __len__(self) -> int:
        return self.num_frames

    @classmethod
    def from_full_pose(cls, full_pose: np.ndarray, transl: np.ndarray, fps: float, camera: CameraIntrinsics,
                       **overrides: object) -> MotionClip:
        """A clip of (T, 55, 3) axis-angle poses and (T, 3) translations seen by `camera` in every frame.

        Other arrays and fields come from `overrides`, or else: mean shape, neutral face, confidence 1,
        no box, frames 0..T-1, timestamps of `frame_index` at `fps` (rounded to the nanosecond).
        """
        num = len(full_pose)
        frame_index = np.asarray(overrides.pop("frame_index", np.arange(num)))
        values: dict[str, Any] = {
            "betas": np.zeros((num, NUM_BETAS)), "expression": np.zeros((num, NUM_EXPRESSION)),
            "camera": np.broadcast_to(camera.as_array(), (num, 6)), "confidence": np.ones(num),
            "joint_confidence": np.ones((num, NUM_JOINTS)), "box": np.zeros((num, 4)), "frame_index": frame_index,
            "timestamp_ns": np.round(frame_index * 1e9 / fps).astype(np.int64)}
        return cls(**split_full_pose(full_pose), transl=transl, fps=fps, **(values | overrides))

    @classmethod
    def from_params(cls, frames: list[SmplxParams], fps: float, gender: str = "neutral",
                    source: dict | None = None) -> MotionClip:
        """Stack per-frame records of one track (in time order) into a clip."""
        if not frames:
            raise ValueError("a clip needs at least one frame")
        track_ids = {p.track_id for p in frames}
        if len(track_ids) != 1:
            raise ValueError(f"a clip holds one track, got track ids {sorted(track_ids)}")
        rows = [p.arrays() for p in frames]
        return cls(**{name: np.stack([row[name] for row in rows]) for name in CLIP_ARRAYS},
                   fps=fps, track_id=frames[0].track_id, gender=gender, source=source)

    def frame(self, i: int) -> SmplxParams:
        """The i-th frame as a `SmplxParams`."""
        return SmplxParams.from_arrays({name: getattr(self, name)[i] for name in CLIP_ARRAYS}, self.track_id)

    def npz_arrays(self) -> dict[str, np.ndarray]:
        """What `save` writes (and `load` reads): every array of `ARRAY_SPECS`, then the schema version,
        fps, track id, gender and the source as JSON (0-d arrays)."""
        arrays = {name: getattr(self, name) for name in self.ARRAY_SPECS}
        arrays |= {
            "schema_version": np.array(self.SCHEMA_VERSION),
            "fps": np.array(self.fps, dtype=np.float64),
            "track_id": np.array(self.track_id, dtype=np.int64),
            "gender": np.array(self.gender),
            "source_json": np.array(json.dumps(self.source, sort_keys=True)),
        }
        if self.foot_contact is not None:  # optional: clips without it load as before
            arrays["foot_contact"] = self.foot_contact
        return arrays

    def save(self, path: Path) -> Path:
        """Write the clip to an .npz (atomically); returns the path written."""
        arrays = self.npz_arrays()
        return atomic_write(Path(path), lambda handle: np.savez(handle, **arrays))

    @classmethod
    def load(cls, path: Path) -> MotionClip:
        """Read a clip written by `save`; any other file gives `ClipFormatError` naming the problem."""
        path = Path(path)
        hint = "Pass a clip written by `python main.py process` (a MotionClip .npz)."
        try:
            with np.load(path, allow_pickle=False) as data:
                contents = {key: data[key] for key in data.files}
        except FileNotFoundError:
            raise ClipFormatError(f"Clip file {path} does not exist.", hint) from None
        except (OSError, ValueError, EOFError) as exc:
            raise ClipFormatError(f"{path} is not a readable .npz clip ({exc}).", hint) from exc
        if "schema_version" not in contents:
            raise ClipFormatError(f"{path} has no schema_version: it is not a mocap clip.", hint)
        version = int(contents["schema_version"])
        if version != cls.SCHEMA_VERSION:
            raise ClipFormatError(
                f"{path} has clip schema version {version}; this version of the app reads {cls.SCHEMA_VERSION}.",
                "Re-export the clip with a matching version of the app.")
        required = [*(n for n in cls.ARRAY_SPECS if n not in OPTIONAL_ARRAYS), "fps", "track_id", "gender",
                    "source_json"]
        missing = [key for key in required if key not in contents]
        if missing:
            raise ClipFormatError(f"{path} lacks the keys {', '.join(missing)}.", hint)
        num_frames = len(contents["global_orient"])
        for name, (_dtype, shape) in cls.ARRAY_SPECS.items():
            if name in contents and contents[name].shape != (num_frames, *shape):
                raise ClipFormatError(
                    f"{path}: '{name}' has shape {contents[name].shape}, expected {(num_frames, *shape)}.", hint)
        try:
            return cls(**{name: contents.get(name) for name in cls.ARRAY_SPECS},
                       fps=float(contents["fps"]), track_id=int(contents["track_id"]),
                       gender=str(contents["gender"]), source=json.loads(str(contents["source_json"])),
                       foot_contact=contents.get("foot_contact"))
        except ValueError as exc:
            raise ClipFormatError(f"{path}: {exc}.", hint) from exc

