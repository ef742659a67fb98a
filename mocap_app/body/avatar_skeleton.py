"""The default avatar's rest skeleton (Anny 0.6.2, as `body.avatar.AnnyAvatar.rest_joints()` gives it), kept here
so the estimator can fit the body the app draws without building the avatar (a minute the first time, ~3 s
after). `tests/body/test_avatar.py` checks it against the built avatar; regenerate it when Anny changes.
"""

from __future__ import annotations

import numpy as np

# (55, 3) metres, smplx model axes (y up, z forward, +x the subject's left), joint order `core.skeleton.JOINT_NAMES`.
AVATAR_REST_JOINTS = np.array([
    ( 0.000000,  0.000000,  0.000000),  # pelvis
    ( 0.101942, -0.010349, -0.005738),  # left_hip
    (-0.101942, -0.010349, -0.005738),  # right_hip
    (-0.000000,  0.073577, -0.014715),  # spine1
    ( 0.142951, -0.399935, -0.005738),  # left_knee
    (-0.142951, -0.399935, -0.005738),  # right_knee
    (-0.000000,  0.216046,  0.007203),  # spine2
    ( 0.132924, -0.801007, -0.035818),  # left_ankle
    (-0.132924, -0.801007, -0.035818),  # right_ankle
    ( 0.000000,  0.344025,  0.049863),  # spine3
    ( 0.153631, -0.863127,  0.088422),  # left_foot
    (-0.153631, -0.863127,  0.088422),  # right_foot
    ( 0.000000,  0.512769,  0.025756),  # neck
    ( 0.021997,  0.457305,  0.067006),  # left_collar
    (-0.021997,  0.457305,  0.067006),  # right_collar
    ( 0.000000,  0.608360,  0.063992),  # head
    ( 0.155093,  0.505704,  0.054906),  # left_shoulder
    (-0.155093,  0.505704,  0.054906),  # right_shoulder
    ( 0.406687,  0.496027,  0.035553),  # left_elbow
    (-0.406687,  0.496027,  0.035553),  # right_elbow
    ( 0.633638,  0.496027,  0.044631),  # left_wrist
    (-0.633638,  0.496027,  0.044631),  # right_wrist
    (-0.000000,  0.570523,  0.071534),  # jaw
    ( 0.029494,  0.645266,  0.142882),  # left_eye_smplhf
    (-0.029494,  0.645266,  0.142882),  # right_eye_smplhf
    ( 0.728030,  0.491966,  0.090438),  # left_index1
    ( 0.753365,  0.491966,  0.091705),  # left_index2
    ( 0.776045,  0.491966,  0.092839),  # left_index3
    ( 0.732378,  0.496027,  0.065319),  # left_middle1
    ( 0.765427,  0.496027,  0.065319),  # left_middle2
    ( 0.792390,  0.496027,  0.065319),  # left_middle3
    ( 0.725269,  0.491966,  0.025888),  # left_pinky1
    ( 0.746233,  0.491966,  0.024211),  # left_pinky2
    ( 0.761383,  0.491966,  0.022999),  # left_pinky3
    ( 0.730658,  0.496487,  0.045476),  # left_ring1
    ( 0.759773,  0.496487,  0.044312),  # left_ring2
    ( 0.784074,  0.496487,  0.043340),  # left_ring3
    ( 0.665320,  0.492831,  0.075644),  # left_thumb1
    ( 0.686588,  0.489793,  0.096912),  # left_thumb2
    ( 0.711703,  0.486205,  0.122027),  # left_thumb3
    (-0.728030,  0.491966,  0.090438),  # right_index1
    (-0.753365,  0.491966,  0.091705),  # right_index2
    (-0.776045,  0.491966,  0.092839),  # right_index3
    (-0.732378,  0.496027,  0.065319),  # right_middle1
    (-0.765427,  0.496027,  0.065319),  # right_middle2
    (-0.792390,  0.496027,  0.065319),  # right_middle3
    (-0.725269,  0.491966,  0.025888),  # right_pinky1
    (-0.746233,  0.491966,  0.024211),  # right_pinky2
    (-0.761383,  0.491966,  0.022999),  # right_pinky3
    (-0.730658,  0.496487,  0.045476),  # right_ring1
    (-0.759773,  0.496487,  0.044312),  # right_ring2
    (-0.784074,  0.496487,  0.043340),  # right_ring3
    (-0.665320,  0.492831,  0.075644),  # right_thumb1
    (-0.686588,  0.489793,  0.096912),  # right_thumb2
    (-0.711703,  0.486205,  0.122027),  # right_thumb3
], dtype=np.float32)
AVATAR_REST_JOINTS.setflags(write=False)
