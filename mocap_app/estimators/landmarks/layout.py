"""MediaPipe landmark indices and how they sit on the SMPL-X skeleton.

MediaPipe pose has 33 landmarks ("left" = the subject's left), hands 21, the face mesh 468. Body
joints of SMPL-X that MediaPipe observes directly are listed in `BODY_LANDMARKS`; the head and
feet are observed through rigid templates (landmark offsets from a joint, in that joint's rest
frame: smplx model coordinates, metres, y up, z forward, +x = subject's left).
"""

from __future__ import annotations

import numpy as np

from mocap_app.core.skeleton import JOINT_INDEX

# Pose landmark indices.
NOSE, LEFT_EYE, RIGHT_EYE, LEFT_EAR, RIGHT_EAR, MOUTH_LEFT, MOUTH_RIGHT = 0, 2, 5, 7, 8, 9, 10
LEFT_SHOULDER, RIGHT_SHOULDER, LEFT_ELBOW, RIGHT_ELBOW, LEFT_WRIST, RIGHT_WRIST = 11, 12, 13, 14, 15, 16
LEFT_PINKY, RIGHT_PINKY, LEFT_INDEX, RIGHT_INDEX = 17, 18, 19, 20
LEFT_HIP, RIGHT_HIP, LEFT_KNEE, RIGHT_KNEE, LEFT_ANKLE, RIGHT_ANKLE = 23, 24, 25, 26, 27, 28
LEFT_HEEL, RIGHT_HEEL, LEFT_FOOT_INDEX, RIGHT_FOOT_INDEX = 29, 30, 31, 32
NUM_POSE_LANDMARKS = 33

# SMPL-X joint ← pose landmark at (approximately) the same anatomical point.
BODY_LANDMARKS: dict[str, int] = {
    "left_hip": LEFT_HIP, "right_hip": RIGHT_HIP, "left_knee": LEFT_KNEE, "right_knee": RIGHT_KNEE,
    "left_ankle": LEFT_ANKLE, "right_ankle": RIGHT_ANKLE, "left_shoulder": LEFT_SHOULDER,
    "right_shoulder": RIGHT_SHOULDER, "left_elbow": LEFT_ELBOW, "right_elbow": RIGHT_ELBOW,
    "left_wrist": LEFT_WRIST, "right_wrist": RIGHT_WRIST,
}
BODY_LANDMARK_JOINTS = np.array([JOINT_INDEX[name] for name in BODY_LANDMARKS])
BODY_LANDMARK_INDICES = np.array(list(BODY_LANDMARKS.values()))

# Head landmarks relative to the SMPL-X head joint, in its rest frame (average adult face).
HEAD_TEMPLATE_INDICES = np.array([NOSE, LEFT_EYE, RIGHT_EYE, LEFT_EAR, RIGHT_EAR, MOUTH_LEFT, MOUTH_RIGHT])
HEAD_TEMPLATE = np.array([
    (0.0, 0.03, 0.11),                          # nose tip
    (0.032, 0.06, 0.075), (-0.032, 0.06, 0.075),  # eyes
    (0.075, 0.04, -0.01), (-0.075, 0.04, -0.01),  # ears (tragus)
    (0.025, -0.02, 0.085), (-0.025, -0.02, 0.085),  # mouth corners
])

# Heel and toe tip relative to the ankle joint, in its rest frame (same for both feet, x mirrored).
FOOT_TEMPLATE = {"heel": np.array([0.0, -0.06, -0.06]), "toe": np.array([0.02, -0.08, 0.17])}
FOOT_LANDMARKS = {"left": (LEFT_HEEL, LEFT_FOOT_INDEX), "right": (RIGHT_HEEL, RIGHT_FOOT_INDEX)}

# Hand landmarks: 0 wrist; then per finger 4 points from the base (thumb: CMC, MCP, IP, tip;
# others: MCP, PIP, DIP, tip). SMPL-X fingers in its order (index, middle, pinky, ring, thumb).
HAND_WRIST = 0
HAND_FINGER_LANDMARKS = np.array([
    (5, 6, 7, 8),      # index
    (9, 10, 11, 12),   # middle
    (17, 18, 19, 20),  # pinky
    (13, 14, 15, 16),  # ring
    (1, 2, 3, 4),      # thumb
])
HAND_INDEX_MCP, HAND_MIDDLE_MCP, HAND_PINKY_MCP = 5, 9, 17
NUM_HAND_LANDMARKS = 21
# Fingertip distance beyond the last SMPL-X finger joint, as a fraction of the last segment.
FINGERTIP_EXTENSION = 1.0

# Face mesh indices used by the fit (subject's left = larger x when facing the camera).
FACE_FOREHEAD, FACE_SUBNASALE, FACE_RIGHT_EYE_OUTER, FACE_LEFT_EYE_OUTER = 10, 2, 33, 263
FACE_UPPER_LIP_INNER, FACE_LOWER_LIP_INNER = 13, 14
FACE_INDICES = np.array([FACE_FOREHEAD, FACE_SUBNASALE, FACE_RIGHT_EYE_OUTER, FACE_LEFT_EYE_OUTER,
                         FACE_UPPER_LIP_INNER, FACE_LOWER_LIP_INNER])
NUM_FACE_LANDMARKS = 468
# Face geometry in the head joint's rest frame: the forehead→subnasale line leans back a little
# at the top; outer eye corners are ~9 cm apart; the lower lip turns about the jaw joint.
FACE_UP_REST = np.array([0.0, 1.0, -0.2])
EYE_CORNER_DISTANCE_M = 0.09
JAW_TO_LOWER_LIP_M = 0.09
MOUTH_CLOSED_GAP = 0.02  # inner-lip gap / eye-corner distance of a relaxed closed mouth
