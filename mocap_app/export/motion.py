"""A clip turned into skeleton animation in a file's frame: bones, rest offsets, local rotations, root path.

Conventions shared by every skeleton format:
- World frame: y up, z towards the viewer (the way a subject facing the camera faces), x = the
  subject's left when facing the viewer; the clip's camera frame (y down, z forward) is turned 180°
  about x into it. With up_axis "z" the world is turned so that z is up and the subject faces -y.
- Every bone's rest orientation is the identity (SMPL-X's rest pose, a T-pose): a bone's local
  rotation is the clip's smplx rotation of that joint, expressed in the file's axes.
- The root bone (pelvis) carries the world position: the rest pelvis + smplx `transl`, in the
  world frame, scaled to the file's units.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from mocap_app.body.rest_skeleton import REST_JOINTS
from mocap_app.core.params import MotionClip
from mocap_app.core.rotations import axis_angle_to_matrix
from mocap_app.core.skeleton import JOINT_INDEX, JOINT_NAMES, PARENTS

from .base import UNITS, ExportOptions
from .bone_names import bone_names

_CAMERA_TO_WORLD = np.diag([1.0, -1.0, -1.0])  # 180° about x: camera y-down/z-forward → y-up/z-to-viewer
_UP_AXIS = {"y": np.eye(3), "z": np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])}
_FACE_JOINTS = ("jaw", "left_eye_smplhf", "right_eye_smplhf")


def kept_joints(options: ExportOptions) -> np.ndarray:
    """Ascending smplx joint indices that the options export (all 55, or without fingers / face)."""
    dropped: set[int] = set()
    if not options.hands:
        dropped |= set(range(JOINT_INDEX["left_index1"], len(JOINT_NAMES)))
    if not options.face:
        dropped |= {JOINT_INDEX[name] for name in _FACE_JOINTS}
    return np.array([j for j in range(len(JOINT_NAMES)) if j not in dropped], dtype=np.int64)


def rest_joints_of(options: ExportOptions) -> np.ndarray:
    """(55, 3) metres, smplx model coordinates: the options' rest joints or the reference skeleton."""
    return REST_JOINTS if options.rest_joints is None else options.rest_joints


def axes_matrix(up_axis: str) -> np.ndarray:
    """(3, 3) rotation from the y-up world frame into the file's axes."""
    return _UP_AXIS[up_axis]


@dataclass(frozen=True)
class SkeletonMotion:
    """Skeleton animation ready to write, in the file's axes and units.

    names: (J,) exported bone names. joints: (J,) smplx indices of the bones. parents: (J,) index of
    each bone's parent in this skeleton, -1 for the root; parents[j] < j.
    rest_positions: (J, 3) rest-pose bone positions in the world (file axes and units).
    offsets: (J, 3) rest position relative to the parent (the root's is its rest position).
    local_rotations: (T, J, 3, 3) float64 rotation of each bone relative to its parent (root: to the world).
    root_positions: (T, 3) world position of the root bone per frame.
    fps: frames per second. scale: file units per metre. axes: (3, 3) y-up world → file axes.
    """

    names: tuple[str, ...]
    joints: np.ndarray
    parents: tuple[int, ...]
    rest_positions: np.ndarray
    offsets: np.ndarray
    local_rotations: np.ndarray
    root_positions: np.ndarray
    fps: float
    scale: float
    axes: np.ndarray

    @property
    def num_frames(self) -> int:
        return int(self.local_rotations.shape[0])

    @property
    def num_bones(self) -> int:
        return len(self.names)

    def to_file_space(self, points_model: np.ndarray) -> np.ndarray:
        """(..., 3) metres in smplx model coordinates → file axes and units (rest-pose geometry)."""
        return self.scale * (np.asarray(points_model, dtype=np.float64) @ self.axes.T)

    def global_transforms(self) -> tuple[np.ndarray, np.ndarray]:
        """World rotations (T, J, 3, 3) and positions (T, J, 3) of every bone, by forward kinematics."""
        rotations = np.empty_like(self.local_rotations)
        positions = np.empty((self.num_frames, self.num_bones, 3))
        for j, parent in enumerate(self.parents):
            if parent < 0:
                rotations[:, j] = self.local_rotations[:, j]
                positions[:, j] = self.root_positions
            else:
                rotations[:, j] = rotations[:, parent] @ self.local_rotations[:, j]
                positions[:, j] = positions[:, parent] + np.einsum("tab,b->ta", rotations[:, parent], self.offsets[j])
        return rotations, positions


def skeleton_motion(clip: MotionClip, options: ExportOptions, units: str | None = None,
                    up_axis: str | None = None) -> SkeletonMotion:
    """Turn `clip` into bone animation. `units`/`up_axis` override the options for formats with fixed ones."""
    scale = UNITS[units or options.units]
    axes = axes_matrix(up_axis or options.up_axis)
    joints = kept_joints(options)
    position = {int(j): i for i, j in enumerate(joints)}
    parents = tuple(-1 if PARENTS[j] < 0 else position[PARENTS[j]] for j in joints)
    rest_model = rest_joints_of(options)
    rest_positions = scale * (rest_model[joints] @ axes.T)
    offsets = rest_positions.copy()
    for i, parent in enumerate(parents):
        if parent >= 0:
            offsets[i] = rest_positions[i] - rest_positions[parent]

    pose = axis_angle_to_matrix(clip.full_pose()[:, joints])  # (T, J, 3, 3), smplx model axes
    # A model-axes rotation R becomes A·R·Aᵀ in file axes; the root also turns camera → world first.
    to_file = axes @ _CAMERA_TO_WORLD
    local = axes @ pose @ axes.T
    local[:, 0] = to_file @ pose[:, 0] @ axes.T
    root_camera = clip.transl.astype(np.float64) + rest_model[0]
    root_positions = scale * (root_camera @ to_file.T)
    names = bone_names(options.bone_names)
    motion = SkeletonMotion(
        names=tuple(names[j] for j in joints), joints=joints, parents=parents,
        rest_positions=rest_positions, offsets=offsets, local_rotations=local,
        root_positions=root_positions, fps=float(options.fps or clip.fps), scale=scale, axes=axes)
    if options.root == "ground":
        motion = dataclasses.replace(motion, root_positions=root_positions + _ground_shift(motion, options))
    return motion


def _ground_shift(motion: SkeletonMotion, options: ExportOptions) -> np.ndarray:
    """(3,) file-space shift that stands the body on the floor at the origin.

    Horizontally the first frame's root goes to the origin. Vertically the floor is where the feet's
    lowest point is in a typical frame (the median over the clip): estimated takes drift up and down,
    and a standing body should touch the floor rather than float above the one frame estimated
    lowest. The feet's lowest point is the foot joints minus their height above the sole, measured on
    the mesh's rest pose when there is one.
    """
    up = motion.axes @ np.array([0.0, 1.0, 0.0])
    feet = [i for i, j in enumerate(motion.joints)
            if JOINT_NAMES[j] in ("left_ankle", "right_ankle", "left_foot", "right_foot")]
    _, positions = motion.global_transforms()
    lowest_feet = (positions[:, feet] @ up).min(axis=1)
    sole_below_joints = 0.0
    if options.mesh is not None:
        rest_feet = rest_joints_of(options)[[JOINT_INDEX[n] for n in ("left_foot", "right_foot")], 1].min()
        sole_below_joints = motion.scale * max(0.0, rest_feet - options.mesh.vertices[:, 1].min())
    floor = np.median(lowest_feet) - sole_below_joints
    start = motion.root_positions[0]
    horizontal = start - (start @ up) * up
    return -horizontal - floor * up
