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

from .feet import sole_points
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


# ---------------------------------------------------------------- motions that move over the floor


@dataclass(frozen=True)
class GroundedMotion:
    """A motion with its path over a level floor, for foot-contact ground truth.

    pose: (T, 55, 3) axis-angle as in `Motion` (pose[:, 0] includes the heading). root: (T, 3) metres,
    model frame (y up): smplx `transl` that puts the soles on the floor y = 0, planted feet not moving.
    contact: (T, 2) bool, left and right foot planted. fps: frames per second.
    """

    name: str
    pose: np.ndarray
    root: np.ndarray
    contact: np.ndarray
    fps: float

    @property
    def num_frames(self) -> int:
        return int(self.pose.shape[0])


def ground(name: str, pose: np.ndarray, fps: float, lift_m: np.ndarray | None = None,
           rest_joints: np.ndarray = REST_JOINTS) -> GroundedMotion:
    """`pose` walked over the floor: in each frame the lowest foot stands on it and stays where it landed
    (a foot that becomes the lowest is planted where it is). lift_m: (T,) height of the whole body above
    that (a jump's flight); a foot is in contact when it is planted or as low as the planted one, and
    the body is not lifted."""
    rotations, joints = forward_kinematics(rest_joints, axis_angle_to_matrix(pose))
    soles = sole_points(rotations, joints, rest_joints)  # (T, 2, 2, 3), root at the origin
    lowest = soles[..., 1].min(axis=2)  # (T, 2) model y: up
    centres = soles.mean(axis=2)
    num = len(pose)
    root = np.zeros((num, 3))
    stance, anchor = -1, np.zeros(3)
    for t in range(num):
        foot = int(np.argmin(lowest[t]))
        if foot != stance:
            previous = root[t - 1] if t else np.zeros(3)
            anchor, stance = centres[t, foot] + previous, foot
        root[t] = anchor - centres[t, foot]
        root[t, 1] = -lowest[t, foot]
    lift = np.zeros(num) if lift_m is None else np.asarray(lift_m, dtype=np.float64)
    root[:, 1] += lift
    contact = (lowest - lowest.min(axis=1, keepdims=True) < 1e-4) & (lift[:, None] <= 0)
    return GroundedMotion(name, pose, root, contact, fps)


def walk(num_frames: int, fps: float = 30.0, cadence_hz: float = 0.9) -> GroundedMotion:
    """Walking forward: legs swing from the hips, the swinging knee bends, feet land flat, arms swing."""
    pose = np.zeros((num_frames, 55, 3))
    _arms_down(pose)
    phase = 2 * np.pi * cadence_hz * np.arange(num_frames) / fps
    for side, sign in (("left", 1.0), ("right", -1.0)):
        swing = sign * np.sin(phase)  # > 0: the thigh ahead
        hip = -0.35 * swing
        knee = 1.1 * np.maximum(0.0, sign * np.cos(phase)) ** 2  # bends while the leg swings forward
        _joint(pose, f"{side}_hip", 0, hip)
        _joint(pose, f"{side}_knee", 0, knee)
        _joint(pose, f"{side}_ankle", 0, -(hip + knee) * 0.8)
        _joint(pose, f"{side}_shoulder", 1, 0.3 * swing * sign)
    return ground("walk", pose, fps)


def pivot_turn(num_frames: int, fps: float = 30.0, turn_deg: float = 150.0) -> GroundedMotion:
    """Standing on the right foot, the left knee raised, the body turns on the planted foot."""
    pose = np.zeros((num_frames, 55, 3))
    _arms_down(pose, 0.8)
    _joint(pose, "left_hip", 0, -0.7)
    _joint(pose, "left_knee", 0, 1.2)
    _joint(pose, "pelvis", 1, np.radians(turn_deg) * _phase(2 * num_frames)[:num_frames])
    return ground("pivot_turn", pose, fps)


def jump(num_frames: int, fps: float = 30.0, height_m: float = 0.25) -> GroundedMotion:
    """Crouch, jump straight up (feet leave the floor for a ballistic flight), land in a crouch, stand."""
    pose = np.zeros((num_frames, 55, 3))
    t = np.arange(num_frames) / fps
    flight_s = 2 * np.sqrt(2 * height_m / 9.81)
    start = 0.45 * num_frames / fps - flight_s / 2
    tau = (t - start) / flight_s
    airborne = (tau > 0) & (tau < 1)
    lift = np.where(airborne, 4 * height_m * tau * (1 - tau), 0.0)
    # Crouches before take-off and after landing (0.3 s wide), legs straight in the air.
    crouch = np.exp(-0.5 * ((t - start + 0.15) / 0.1) ** 2) + np.exp(-0.5 * ((t - start - flight_s - 0.15) / 0.1) ** 2)
    for side in ("left", "right"):
        _joint(pose, f"{side}_hip", 0, -0.9 * crouch)
        _joint(pose, f"{side}_knee", 0, 1.4 * crouch)
        _joint(pose, f"{side}_ankle", 0, -0.5 * crouch)
    _arms_down(pose, 1.0 - 0.8 * np.clip(lift / height_m, 0, 1))
    return ground("jump", pose, fps, lift)


def grounded_squat(num_frames: int, fps: float = 30.0) -> GroundedMotion:
    """`squat` with both feet planted (the body sinks and leans back over them)."""
    return ground("squat", squat(num_frames), fps)


GROUNDED_MOTIONS: dict[str, Callable[[int], GroundedMotion]] = {
    "walk": walk, "pivot_turn": pivot_turn, "squat": grounded_squat, "jump": jump,
}


def place_grounded(motion: GroundedMotion, camera: CameraIntrinsics, distance_m: float = 3.5, yaw_deg: float = 0.0,
                   floor_offset_m: float = 1.0) -> MotionClip:
    """`motion` on a floor `floor_offset_m` below a level camera's optical axis, its path centred `distance_m`
    in front of it; yaw_deg as in `place_in_camera`. Returns the clip (camera frame) with the true contacts."""
    turn = _FACE_CAMERA @ axis_angle_to_matrix(np.array([0.0, np.radians(yaw_deg), 0.0]))
    pose = np.array(motion.pose, dtype=np.float64)
    pose[:, 0] = matrix_to_axis_angle(turn @ axis_angle_to_matrix(pose[:, 0]))
    transl = motion.root @ turn.T  # the pelvis rests at the origin: transl turns like a position
    middle = (transl.max(axis=0) + transl.min(axis=0)) / 2
    transl += np.array([-middle[0], floor_offset_m, distance_m - middle[2]])
    return MotionClip.from_full_pose(pose, transl, motion.fps, camera,
                                     foot_contact=motion.contact.astype(np.float32))
