"""SMPL-X's face landmarks where MediaPipe sees them: the index correspondence, and the landmarks as a function
of SMPL-X's expression and jaw opening (what `estimators.landmarks.expression` fits).

`MEDIAPIPE_IBUG[k]` is the MediaPipe face-mesh index of point 17 + k of the iBUG 68-point markup (brows, nose,
eyes, mouth: the 51 static landmarks of SMPL-X's `lmk_faces_idx`, same order; the jaw contour 0-16 is left out,
SMPL-X keeps it in a separate, head-pose-dependent file). Derived for this app from MediaPipe's canonical face
model (mediapipe/modules/face_geometry/data/canonical_face_model.obj, Apache-2.0; vertex i is landmark i; x the
subject's left, y up, z to the viewer) and the contours of `mediapipe.python.solutions.face_mesh_connections`,
by the iBUG point definitions:
- brows 17-21 (right, outer to inner), 22-26 (left, inner to outer): the upper vertex of each of the five
  columns of FACEMESH_RIGHT/LEFT_EYEBROW;
- nose bridge 27-30: the midline vertex at the inner eye corners' height (sellion), those nearest a third and two
  thirds of the height down to the tip, and the tip (the midline's most forward vertex);
- lower nose 31-35: FACEMESH_NOSE's lower outline, its midline end (subnasale, 33), on each side its deepest
  vertex (where the wing meets the face, 31 and 35) and the vertex between (32, 34);
- eyes 36-41 (right), 42-47 (left), clockwise from the image's left: the corners are the extremes in x of
  FACEMESH_RIGHT/LEFT_EYE, the others the upper- and lower-lid vertices nearest a third and two thirds across;
- mouth 48-59 (outer) and 60-67 (inner), clockwise from the right corner: FACEMESH_LIPS' outer and inner loops,
  their corners and midline vertices, and the vertices nearest a third and two thirds (outer) or half (inner)
  of the way between them.
The fit uses landmark displacements from the person's own neutral face, so where exactly a MediaPipe vertex
sits relative to SMPL-X's embedded point matters less than that both move alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from mocap_app.core.params import NUM_EXPRESSION
from mocap_app.core.skeleton import JOINT_INDEX

from .smplx_files import smplx_model_path

if TYPE_CHECKING:  # torch and smplx load in ~1.5 s: only a user with SMPL-X's files pays for them
    from .smplx_model import SmplxModel

MEDIAPIPE_IBUG = np.array([
    70, 63, 105, 66, 107, 336, 296, 334, 293, 300,  # 17-26 brows
    6, 197, 5, 4, 98, 97, 2, 326, 327,  # 27-35 nose: bridge, lower outline
    33, 160, 158, 133, 153, 144, 362, 385, 387, 263, 373, 380,  # 36-47 eyes
    61, 39, 37, 0, 267, 269, 291, 321, 314, 17, 84, 91,  # 48-59 outer lips
    78, 81, 13, 311, 308, 402, 14, 178,  # 60-67 inner lips
])
FIRST_IBUG = 17  # iBUG index of MEDIAPIPE_IBUG[0]
NUM_FACE_LANDMARKS = len(MEDIAPIPE_IBUG)
JAW = JOINT_INDEX["jaw"]


def jaw_rotation(angle: float) -> tuple[np.ndarray, np.ndarray]:
    """(3, 3) the jaw's local rotation opening the mouth by `angle` radians (about its x axis), and its derivative."""
    c, s = np.cos(angle), np.sin(angle)
    return (np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]]),
            np.array([[0.0, 0.0, 0.0], [0.0, -s, -c], [0.0, c, -s]]))


@dataclass(frozen=True)
class FaceLandmarkModel:
    """SMPL-X's 51 face landmarks (iBUG 17-67 order) given the expression ψ (10,) and the jaw's opening θ (radians
    about the jaw joint's x axis), everything else at rest: mean shape, smplx model coordinates (metres, y up,
    z forward, x the subject's left), which are the head's frame. smplx's own skinning for that case:

        p(ψ, θ) = rest + expression·ψ + pose·r              before skinning, r = vec(R(θ) − I) (9,)
        L(ψ, θ) = p + (R(θ) − I)·(arm + arm_expression·ψ + arm_pose·r)

    rest (51, 3); expression (51, 3, 10); pose (51, 3, 9) the jaw's pose correctives; arm (51, 3) the landmarks'
    jaw-weighted offsets from the jaw joint, with arm_expression (51, 3, 10) and arm_pose (51, 3, 9) their change
    (the joint moves with ψ). float64 metres (per unit coefficient, per unit of r).
    """

    rest: np.ndarray
    expression: np.ndarray
    pose: np.ndarray
    arm: np.ndarray
    arm_expression: np.ndarray
    arm_pose: np.ndarray

    @classmethod
    def from_smplx(cls, model: SmplxModel) -> FaceLandmarkModel:
        faces_idx, bary = model.face_landmark_embedding
        corners = model.faces[faces_idx]  # (51, 3) vertex ids

        def embed(per_vertex: np.ndarray) -> np.ndarray:  # (V, ...) → (51, ...) barycentric mix
            return np.einsum("lk,lk...->l...", bary.astype(np.float64), per_vertex[corners].astype(np.float64))

        vertices, directions = model.rest_vertices(), model.expression_directions
        pose, jaw_weight = model.pose_directions(JAW), model.skin_weights[:, JAW]
        joint = model.rest_joints()[JAW].astype(np.float64)
        # The jaw joint per unit of each coefficient (smplx regresses joints from the shaped mesh: linear).
        joint_expression = np.stack([model.rest_joints(expression=np.eye(NUM_EXPRESSION)[k])[JAW] - joint
                                     for k in range(NUM_EXPRESSION)], axis=-1)
        weighted = jaw_weight[:, None]
        return cls(rest=embed(vertices), expression=embed(directions), pose=embed(pose),
                   arm=embed(weighted * (vertices - joint)),
                   arm_expression=embed(weighted[..., None] * (directions - joint_expression)),
                   arm_pose=embed(weighted[..., None] * pose))

    def evaluate(self, expression: np.ndarray, jaw: float) -> tuple[np.ndarray, np.ndarray]:
        """For ψ `expression` (10,) and opening `jaw` (radians): (51, 3) landmark positions (metres, smplx model
        coordinates) and (51, 3, 11) their derivatives by the 10 coefficients, then by the opening (per radian)."""
        rotation, turn = jaw_rotation(jaw)
        bend = rotation - np.eye(3)
        r, dr = bend.ravel(), turn.ravel()
        arm = self.arm + self.arm_expression @ expression + self.arm_pose @ r
        landmarks = self.rest + self.expression @ expression + self.pose @ r + arm @ bend.T
        by_expression = self.expression + bend @ self.arm_expression
        by_jaw = self.pose @ dr + arm @ turn.T + (self.arm_pose @ dr) @ bend.T
        return landmarks, np.concatenate([by_expression, by_jaw[..., None]], axis=-1)


def smplx_face_model(body_models: Path, gender: str = "neutral") -> FaceLandmarkModel | None:
    """The face landmarks of the user's SMPL-X model in `body_models`, or None when that file is not there."""
    if not smplx_model_path(body_models, gender).is_file():
        return None
    from .smplx_model import SmplxModel

    return FaceLandmarkModel.from_smplx(SmplxModel(body_models, gender))
