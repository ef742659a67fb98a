"""The SMPLer-X network's contract without torch: its fixed sizes, output names, and the decoding of its raw
outputs (6D rotations, camera parameters) into axis-angle and translation, in numpy float32.

Decoding runs outside every backend, in fp32, so ONNX Runtime or TensorRT alone (no torch installed) give the
same parameters as the torch network. The rotation conversion follows torchgeometry 0.1.2's case-based quaternion
algorithm operation for operation (SPEC §7, `models.rotations` is its torch twin): upright people facing the camera
have root rotations of almost exactly π, where a trace/skew log map flips the axis.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

# Fixed by the released configs (`config_smpler_x_*32.py`); shapes are (height, width) as there.
INPUT_IMG_HW = (512, 384)  # the crop the network takes
INPUT_BODY_HW = (256, 192)  # what the ViT sees
BODY_HM_SHAPE = (16, 16, 12)  # body heat-map (depth, height, width) = ViT patch grid
HAND_HM_SHAPE = (16, 16, 16)  # hand heat-map and hand RoI output size
HAND_UPSCALE = 4  # HandRoI upsamples the 16x12 feature map to 64x48
FOCAL = (5000.0, 5000.0)  # virtual focal length in body-input pixels
PRINCIPAL_POINT = (96.0, 128.0)  # centre of the 192x256 body input
CAMERA_3D_SIZE = 2.5
NUM_TASK_TOKENS = 31
NUM_BODY_POS_JOINTS = 25  # heat-map joints of the body, order of SPEC §9.1
NUM_HAND_POS_JOINTS = 20
NUM_BODY_ROT_JOINTS = 21  # SMPL-X body joints 1..21
NUM_HAND_ROT_JOINTS = 15
NUM_BETAS = 10
NUM_EXPRESSION = 10
HAND_BOX_EXTENSION = 2.0
FACE_BOX_EXTENSION = 1.5
# t_z = k·sigmoid(s): the depth at which a camera_3d_size-metre object fills the body input (double, then fp32)
DEPTH_SCALE = math.sqrt(FOCAL[0] * FOCAL[1] * CAMERA_3D_SIZE**2 / (INPUT_BODY_HW[0] * INPUT_BODY_HW[1]))

# Network outputs in order (the order an exported graph lists them). Boxes are xyxy in crop pixels (384x512);
# `joint_img` is (x, y) in body heat-map cells (12x16) plus a depth bin (z), hands included.
OUTPUT_NAMES = ("root_pose_6d", "body_pose_6d", "lhand_pose_6d", "rhand_pose_6d", "jaw_pose_6d", "betas",
                "expression", "cam_param", "joint_img", "lhand_bbox", "rhand_bbox", "face_bbox")
INPUT_NAME = "img"


def rot6d_to_matrix(rot6d: np.ndarray) -> np.ndarray:
    """(N, 6) float32 → (N, 3, 3): columns (a0, a2, a4) and (a1, a3, a5), Gram–Schmidt, R = [b1 b2 b3]."""
    pairs = rot6d.reshape(-1, 3, 2)
    a1, a2 = pairs[:, :, 0], pairs[:, :, 1]
    b1 = a1 / np.maximum(np.linalg.norm(a1, axis=1, keepdims=True), np.float32(1e-12))  # = F.normalize
    b2 = a2 - (b1 * a2).sum(1, keepdims=True) * b1
    b2 = b2 / np.maximum(np.linalg.norm(b2, axis=1, keepdims=True), np.float32(1e-12))
    return np.stack((b1, b2, np.cross(b1, b2)), axis=-1)


def matrix_to_axis_angle(matrix: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """(N, 3, 3) → (N, 3) axis-angle (radians, angle in [0, π]); NaN from degenerate input → 0."""
    m = matrix.transpose(0, 2, 1)  # torchgeometry works on the transpose; keep its indexing to keep its rounding
    m00, m01, m02 = m[:, 0, 0], m[:, 0, 1], m[:, 0, 2]
    m10, m11, m12 = m[:, 1, 0], m[:, 1, 1], m[:, 1, 2]
    m20, m21, m22 = m[:, 2, 0], m[:, 2, 1], m[:, 2, 2]
    t = np.stack((1 + m00 - m11 - m22, 1 - m00 + m11 - m22, 1 - m00 - m11 + m22, 1 + m00 + m11 + m22))
    q = np.stack((np.stack((m12 - m21, t[0], m01 + m10, m20 + m02), -1),
                  np.stack((m20 - m02, m01 + m10, t[1], m12 + m21), -1),
                  np.stack((m01 - m10, m20 + m02, m12 + m21, t[2]), -1),
                  np.stack((t[3], m12 - m21, m20 - m02, m01 - m10), -1)))
    low_d2 = m22 < eps
    case = np.where(low_d2, np.where(m00 > m11, 0, 1), np.where(m00 < -m11, 2, 3))
    rows = np.arange(len(case))
    quaternion = q[case, rows] / np.sqrt(t[case, rows])[:, None] * np.float32(0.5)
    xyz, cos_theta = quaternion[:, 1:], quaternion[:, 0]
    sin_sq = xyz[:, 0] * xyz[:, 0] + xyz[:, 1] * xyz[:, 1] + xyz[:, 2] * xyz[:, 2]
    sin_theta = np.sqrt(sin_sq)
    with np.errstate(invalid="ignore", divide="ignore"):
        two_theta = 2.0 * np.where(cos_theta < 0.0, np.arctan2(-sin_theta, -cos_theta),
                                   np.arctan2(sin_theta, cos_theta))
        k = np.where(sin_sq > 0.0, two_theta / sin_theta, np.float32(2.0))
    axis_angle = (xyz * k[:, None]).astype(np.float32)
    return np.where(np.isnan(axis_angle), np.float32(0.0), axis_angle)


def rot6d_to_axis_angle(rot6d: np.ndarray) -> np.ndarray:
    """(..., 6) → (..., 3) axis-angle, radians, float32."""
    flat = np.asarray(rot6d, dtype=np.float32).reshape(-1, 6)
    return matrix_to_axis_angle(rot6d_to_matrix(flat)).reshape(*np.shape(rot6d)[:-1], 3)


def decode_outputs(raw: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Raw network outputs (`OUTPUT_NAMES`, any float dtype) → the official test-mode outputs, float32 numpy.

    Returns smplx_root_pose (B, 3), smplx_body_pose (B, 63), smplx_lhand_pose (B, 45) un-mirrored,
    smplx_rhand_pose (B, 45), smplx_jaw_pose (B, 3) — axis-angle, radians; smplx_shape (B, 10);
    smplx_expr (B, 10); cam_trans (B, 3): SMPL-X translation in metres in the virtual camera (focal 5000,
    principal point (96, 128) on the 192x256 body input); joint_img, lhand_bbox, rhand_bbox, face_bbox as given.
    """
    f32 = {name: np.asarray(raw[name], dtype=np.float32) for name in OUTPUT_NAMES}
    batch = f32["root_pose_6d"].shape[0]

    def axis_angle(name: str) -> np.ndarray:
        return rot6d_to_axis_angle(f32[name].reshape(-1, 6)).reshape(batch, -1)

    lhand = axis_angle("lhand_pose_6d").reshape(batch, NUM_HAND_ROT_JOINTS, 3)
    lhand = np.concatenate((lhand[:, :, 0:1], -lhand[:, :, 1:3]), 2).reshape(batch, -1)  # mirror back: (x, -y, -z)
    cam = f32["cam_param"]
    depth = np.float32(DEPTH_SCALE) * (np.float32(1.0) / (np.float32(1.0) + np.exp(-cam[:, 2])))
    return {
        "smplx_root_pose": axis_angle("root_pose_6d"), "smplx_body_pose": axis_angle("body_pose_6d"),
        "smplx_lhand_pose": lhand, "smplx_rhand_pose": axis_angle("rhand_pose_6d"),
        "smplx_jaw_pose": axis_angle("jaw_pose_6d"), "smplx_shape": f32["betas"], "smplx_expr": f32["expression"],
        "cam_trans": np.concatenate((cam[:, :2], depth[:, None].astype(np.float32)), 1),
        "joint_img": f32["joint_img"], "lhand_bbox": f32["lhand_bbox"], "rhand_bbox": f32["rhand_bbox"],
        "face_bbox": f32["face_bbox"],
    }
