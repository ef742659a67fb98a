"""MediaPipe-like holistic landmarks made from a known SMPL-X pose (for tests, benchmarks, evaluation).

The pose is applied to a rest skeleton with forward kinematics in the camera frame; landmarks
are read off the joints (and the head/foot/face templates of `layout`) and projected with the
intrinsics, in the formats `HolisticLandmarks` documents.
"""

from __future__ import annotations

import numpy as np

from mocap_app.body.rest_skeleton import REST_JOINTS
from mocap_app.core.frames import CameraIntrinsics
from mocap_app.core.rotations import axis_angle_to_matrix
from mocap_app.core.skeleton import JOINT_INDEX, forward_kinematics

from . import layout as L
from .observation import HolisticLandmarks

J = JOINT_INDEX
# Face points (order of layout.FACE_INDICES) relative to the head joint, rest frame; the lower lip
# is given relative to the jaw joint so that jaw rotation opens the mouth.
_FACE_HEAD = np.array([(0.0, 0.13, 0.09), (0.0, 0.01, 0.114), (-0.045, 0.06, 0.075), (0.045, 0.06, 0.075),
                       (0.0, -0.02, 0.105)])
_LOWER_LIP_OFFSET = np.array([0.0, -0.0018, 0.0])  # below the upper inner lip: a relaxed closed mouth


def _image_coords(points: np.ndarray, ref_depth: float, camera: CameraIntrinsics) -> np.ndarray:
    """Pixels x, y and MediaPipe-style relative depth in pixels (0 at `ref_depth`)."""
    return np.concatenate([camera.project(points), ((points[:, 2] - ref_depth) * camera.fx / ref_depth)[:, None]],
                          axis=1)


def posed_joints(full_pose: np.ndarray, transl: np.ndarray,
                 rest_joints: np.ndarray = REST_JOINTS) -> tuple[np.ndarray, np.ndarray]:
    """(55, 3, 3) global rotations and (55, 3) joint positions (metres, camera frame) of a pose."""
    local = axis_angle_to_matrix(np.asarray(full_pose, dtype=np.float64).reshape(-1, 3))
    g, joints = forward_kinematics(rest_joints, local[None], np.asarray(transl, dtype=np.float64)[None])
    return g[0], joints[0]


def synthesize_landmarks(full_pose: np.ndarray, transl: np.ndarray, camera: CameraIntrinsics,
                         rest_joints: np.ndarray = REST_JOINTS, hands: bool = True, face: bool = True,
                         visibility: np.ndarray | None = None) -> HolisticLandmarks:
    """Landmarks MediaPipe would report for a person in pose `full_pose` (55, 3) at `transl` (3,), noise-free.

    visibility: (33,) pose visibilities to report (default all 1).
    """
    g, joints = posed_joints(full_pose, transl, rest_joints)
    cam = np.zeros((L.NUM_POSE_LANDMARKS, 3))
    cam[L.BODY_LANDMARK_INDICES] = joints[L.BODY_LANDMARK_JOINTS]
    head = J["head"]
    cam[L.HEAD_TEMPLATE_INDICES] = joints[head] + L.HEAD_TEMPLATE @ g[head].T
    cam[[1, 3]] = cam[L.LEFT_EYE]
    cam[[4, 6]] = cam[L.RIGHT_EYE]
    mirror = np.array([-1.0, 1.0, 1.0])
    for side, flip in (("left", np.ones(3)), ("right", mirror)):
        ankle = J[f"{side}_ankle"]
        heel_i, toe_i = L.FOOT_LANDMARKS[side]
        cam[heel_i] = joints[ankle] + g[ankle] @ (L.FOOT_TEMPLATE["heel"] * flip)
        cam[toe_i] = joints[ankle] + g[ankle] @ (L.FOOT_TEMPLATE["toe"] * flip)
    for side, (pinky_i, index_i, thumb_i) in (("left", (17, 19, 21)), ("right", (18, 20, 22))):
        cam[pinky_i] = joints[J[f"{side}_pinky1"]]
        cam[index_i] = joints[J[f"{side}_index1"]]
        cam[thumb_i] = joints[J[f"{side}_thumb2"]]
    mid_hip = 0.5 * (cam[L.LEFT_HIP] + cam[L.RIGHT_HIP])
    hand_points = {side: _hand(side, g, joints, rest_joints, camera) if hands else None for side in ("left", "right")}
    face_points = None
    if face:
        jaw = J["jaw"]
        upper_lip = joints[head] + g[head] @ _FACE_HEAD[4]
        lower_rest = rest_joints[head] + _FACE_HEAD[4] + _LOWER_LIP_OFFSET - rest_joints[jaw]
        lower_lip = joints[jaw] + g[jaw] @ lower_rest
        points = np.vstack([joints[head] + _FACE_HEAD[:4] @ g[head].T, upper_lip, lower_lip])
        face_points = _image_coords(points, points[1, 2], camera)
    return HolisticLandmarks(
        pose_world=cam - mid_hip, pose_image=camera.project(cam),
        pose_visibility=np.ones(L.NUM_POSE_LANDMARKS) if visibility is None else np.asarray(visibility, float),
        left_hand=hand_points["left"], right_hand=hand_points["right"], face=face_points)


def _hand(side: str, g: np.ndarray, joints: np.ndarray, rest: np.ndarray, camera: CameraIntrinsics) -> np.ndarray:
    points = np.zeros((L.NUM_HAND_LANDMARKS, 3))
    wrist = J[f"{side}_wrist"]
    points[L.HAND_WRIST] = joints[wrist]
    for row, finger in enumerate(("index", "middle", "pinky", "ring", "thumb")):
        ids = [J[f"{side}_{finger}{k}"] for k in (1, 2, 3)]
        points[L.HAND_FINGER_LANDMARKS[row, :3]] = joints[ids]
        tip_offset = (rest[ids[2]] - rest[ids[1]]) * L.FINGERTIP_EXTENSION
        points[L.HAND_FINGER_LANDMARKS[row, 3]] = joints[ids[2]] + g[ids[2]] @ tip_offset
    return _image_coords(points, points[L.HAND_WRIST, 2], camera)
