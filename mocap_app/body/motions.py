"""Known, plausible SMPL-X motions for synthetic ground truth (evaluation, sample clips, tests).

Each motion is a smooth function of time built from anatomical movements of the SMPL-X rest pose
(T-pose: arms along ±x, palms down, body facing +z, y up):
shoulder abduction about z, elbow flexion about the arm's local y, hip/knee flexion about x,
spine/neck flexion about x, head turn about y, finger curl about z, jaw opening about x.
`place_in_camera` turns a motion into per-frame `SmplxParams` standing in front of a camera with
the feet on a level floor. `swinging_clip` is a long clip with every joint moving, for timing exporters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mocap_app.core.frames import CameraIntrinsics
from mocap_app.core.params import MotionClip, SmplxParams, split_full_pose
from mocap_app.core.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from mocap_app.core.skeleton import JOINT_INDEX, NUM_JOINTS, forward_kinematics

from .rest_skeleton import REST_JOINTS


@dataclass(frozen=True)
class Motion:
    """T frames of joint rotations in the body's own frame (no global placement).

    pose: (T, 55, 3) axis-angle, radians, smplx joint order; pose[:, 0] is the body's orientation in
    its model frame (y up, z forward). fps: frames per second. name: what the motion shows.
    """

    name: str
    pose: np.ndarray
    fps: float

    @property
    def num_frames(self) -> int:
        return int(self.pose.shape[0])


def _joint(pose: np.ndarray, name: str, axis: int, angle: np.ndarray | float) -> None:
    pose[:, JOINT_INDEX[name], axis] += angle


def _arms_down(pose: np.ndarray, amount: np.ndarray | float = 1.0) -> None:
    _joint(pose, "left_shoulder", 2, -1.25 * amount)
    _joint(pose, "right_shoulder", 2, 1.25 * amount)


def _curl_fingers(pose: np.ndarray, side: str, angle: np.ndarray | float) -> None:
    sign = -1.0 if side == "left" else 1.0
    for finger in ("index", "middle", "ring", "pinky"):
        for k in (1, 2, 3):
            _joint(pose, f"{side}_{finger}{k}", 2, sign * angle)


def _phase(num_frames: int, cycles: float = 1.0) -> np.ndarray:
    """(T,) smooth 0 → 1 → 0 over `cycles` periods."""
    t = np.arange(num_frames) / max(num_frames - 1, 1)
    return 0.5 - 0.5 * np.cos(2 * np.pi * cycles * t)


def arms_raise(num_frames: int) -> np.ndarray:
    """Both arms from the sides up above the shoulders and back (shoulder abduction)."""
    pose = np.zeros((num_frames, 55, 3))
    _arms_down(pose, 1.0 - 1.6 * _phase(num_frames))
    return pose


def elbow_curl(num_frames: int) -> np.ndarray:
    """Arms at the sides, forearms curling forward and up, hands closing as they rise."""
    pose = np.zeros((num_frames, 55, 3))
    _arms_down(pose)
    flex = 1.9 * _phase(num_frames, 1.5)
    _joint(pose, "left_elbow", 1, -flex)
    _joint(pose, "right_elbow", 1, flex)
    _curl_fingers(pose, "left", 0.5 * flex)
    _curl_fingers(pose, "right", 0.5 * flex)
    return pose


def squat(num_frames: int) -> np.ndarray:
    """A half squat with the arms reaching forward for balance."""
    pose = np.zeros((num_frames, 55, 3))
    depth = _phase(num_frames)
    for side in ("left", "right"):
        _joint(pose, f"{side}_hip", 0, -1.3 * depth)
        _joint(pose, f"{side}_knee", 0, 2.0 * depth)
        _joint(pose, f"{side}_ankle", 0, -0.6 * depth)
    _joint(pose, "spine1", 0, 0.35 * depth)
    _arms_down(pose, 1.0 - depth)
    _joint(pose, "left_shoulder", 1, -1.2 * depth)
    _joint(pose, "right_shoulder", 1, 1.2 * depth)
    return pose


def look_and_talk(num_frames: int) -> np.ndarray:
    """Arms relaxed; the head turns left and right and nods while the jaw opens and closes."""
    pose = np.zeros((num_frames, 55, 3))
    _arms_down(pose)
    t = np.arange(num_frames) / max(num_frames - 1, 1)
    _joint(pose, "head", 1, 0.6 * np.sin(2 * np.pi * t))
    _joint(pose, "neck", 0, 0.25 * np.sin(4 * np.pi * t))
    _joint(pose, "jaw", 0, 0.35 * _phase(num_frames, 3))
    return pose


def demo(num_frames: int) -> np.ndarray:
    """All of the above in sequence: a short showcase of body, hands and face."""
    parts = [arms_raise, elbow_curl, squat, look_and_talk]
    sizes = [num_frames // len(parts)] * len(parts)
    sizes[-1] += num_frames - sum(sizes)
    pose = np.concatenate([part(size) for part, size in zip(parts, sizes, strict=True)])
    t = np.arange(num_frames) / max(num_frames - 1, 1)
    _joint(pose, "pelvis", 1, 0.35 * np.sin(2 * np.pi * t))  # the body turns a little either way
    return pose


MOTIONS: dict[str, Callable[[int], np.ndarray]] = {
    "arms_raise": arms_raise, "elbow_curl": elbow_curl, "squat": squat, "look_and_talk": look_and_talk,
    "demo": demo,
}


def make_motion(name: str, num_frames: int, fps: float = 30.0) -> Motion:
    return Motion(name, MOTIONS[name](num_frames), fps)


# Model frame (y up, z forward) → OpenCV camera frame (y down, z forward): a body facing the camera
# is turned half a turn about x.
_FACE_CAMERA = axis_angle_to_matrix(np.array([np.pi, 0.0, 0.0]))


def place_in_camera(motion: Motion, camera: CameraIntrinsics, distance_m: float = 3.2, yaw_deg: float = 0.0,
                    floor_offset_m: float = 1.0, rest_joints: np.ndarray = REST_JOINTS,
                    track_id: int = 0) -> list[SmplxParams]:
    """Per-frame parameters of `motion` standing `distance_m` in front of `camera`.

    yaw_deg turns the body about the vertical: 0 = facing the camera, 90 = facing the image's right
    (its right side towards the camera). In every frame the lowest foot joint rests on a floor
    `floor_offset_m` below the camera's optical axis, so a squat lowers the body instead of lifting the feet.
    """
    yaw = axis_angle_to_matrix(np.array([0.0, np.radians(yaw_deg), 0.0]))
    local_cam = axis_angle_to_matrix(motion.pose)  # (T, 55, 3, 3)
    local_cam[:, 0] = _FACE_CAMERA @ yaw @ local_cam[:, 0]
    pose_cam = np.array(motion.pose, dtype=np.float64)
    pose_cam[:, 0] = matrix_to_axis_angle(local_cam[:, 0])
    _, joints = forward_kinematics(rest_joints, local_cam)
    feet = [JOINT_INDEX[n] for n in ("left_ankle", "right_ankle", "left_foot", "right_foot")]
    lowest = joints[:, feet, 1].max(axis=1)  # camera y points down: the lowest point has the largest y
    transl = np.zeros((motion.num_frames, 3))
    transl[:, 1] = floor_offset_m - lowest
    transl[:, 2] = distance_m
    step_ns = round(1e9 / motion.fps)
    return [
        SmplxParams.neutral(camera, **split_full_pose(pose_cam[i]), transl=transl[i], track_id=track_id,
                            frame_index=i, timestamp_ns=i * step_ns)
        for i in range(motion.num_frames)
    ]


def swinging_clip(num_frames: int, fps: float = 30.0, seed: int = 0) -> MotionClip:
    """All 55 joints swinging with random amplitudes and phases, the subject walking forward (600 px focal
    length, 640x480); for timing, not for looking at."""
    rng = np.random.default_rng(seed)
    t = np.arange(num_frames)[:, None, None] / fps
    pose = rng.uniform(-0.6, 0.6, (1, NUM_JOINTS, 3)) * np.sin(2.0 * t + rng.uniform(0, 2 * np.pi, (1, NUM_JOINTS, 3)))
    pose[:, 0, 0] += np.pi
    transl = np.stack([0.2 * np.sin(0.5 * t[:, 0, 0]), np.full(num_frames, 0.3), 3.0 + 0.01 * t[:, 0, 0]], axis=1)
    camera = CameraIntrinsics(fx=600.0, fy=600.0, cx=320.0, cy=240.0, width=640, height=480)
    return MotionClip.from_full_pose(pose, transl, fps, camera)
