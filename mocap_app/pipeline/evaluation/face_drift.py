"""How MediaPipe's face points drift as the head turns, for the SMPL-X expression fit
(`estimators.landmarks.expression.PoseDrift`): renders of expression-free avatar faces (`eval face`'s people,
the default avatar's face left out: the tests read it), turned over `face.CALIBRATION_TURNS_DEG`, read by
MediaPipe holistic as in the app; after the fit's similarity alignment their iBUG points still move by up to
2 mm at 25 degrees of yaw, which the fit would read as an expression. `calibrate()` returns the drift (a linear
fit on `face_shapes.head_pose_terms`); `PoseDrift.save()` writes the file the app ships with.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from mocap_app.body.face_landmarks import MEDIAPIPE_IBUG
from mocap_app.core.face import NUM_ARKIT_SHAPES
from mocap_app.core.frames import CameraIntrinsics
from mocap_app.estimators.landmarks.expression import (
    IMAGE_TO_HEAD,
    PoseDrift,
    face_size,
    similarity_onto,
)
from mocap_app.estimators.landmarks.face_shapes import NEUTRAL_FRAMES, head_pose_terms

from .conditions import SHAPES, shaped_avatar
from .face import CALIBRATION_TURNS_DEG, PEOPLE, FaceRenderer, FaceShot, _read_sequence

CALIBRATION_PEOPLE = PEOPLE[1:]
HOLD = 4  # holistic tracks: each turn held a few frames, the last two read


def calibrate(people: Sequence[tuple[str, tuple[float, float, float]]] = CALIBRATION_PEOPLE, width: int = 640,
              height: int = 480, progress: Callable[[str], None] = lambda line: None) -> PoseDrift:
    """The drift of every person's turned faces from their own neutral face (median of `NEUTRAL_FRAMES` frames
    with small head movements, as the fit takes it), least squares on the head-pose terms over everyone. Opens an
    OpenGL context on this thread (choose `render.platform` first)."""
    from mocap_app.body.avatar import AnnyAvatar
    from mocap_app.render.offscreen import MeshRenderer
    from mocap_app.render.synthetic import room_background

    base = AnnyAvatar(progress=progress).load()
    camera = CameraIntrinsics.from_fov(width, height)
    blank, still = np.zeros(NUM_ARKIT_SHAPES), np.zeros((2, 2))
    terms, moves = [], []
    renderer = MeshRenderer(width, height)
    try:
        for k, (shape, skin) in enumerate(people):
            rng = np.random.default_rng(k)
            shots = [FaceShot(blank, still, tuple(rng.uniform(-3.0, 3.0, 2)), "neutral")
                     for _ in range(NEUTRAL_FRAMES)]
            shots += [FaceShot(blank, still, turn, "turn") for turn in CALIBRATION_TURNS_DEG for _ in range(HOLD)]
            person = FaceRenderer(shaped_avatar(base, SHAPES[shape]), skin, camera)
            background = room_background(width, height, k)
            meshes = _read_sequence([person.render(renderer, shot, background) for shot in shots])
            if any(mesh is None for mesh in meshes):
                raise RuntimeError(f"MediaPipe lost {shape}'s face; nothing written")
            points = [mesh[MEDIAPIPE_IBUG] for mesh in meshes]
            first = points[0] @ IMAGE_TO_HEAD  # the frontal face in smplx axes, unit size
            first = (first - first.mean(axis=0)) / face_size(first)
            neutral = np.median([similarity_onto(p, first)[0] for p in points[:NEUTRAL_FRAMES]], axis=0)
            read = [similarity_onto(p, neutral) for p in points]
            neutral_terms = np.median([head_pose_terms(IMAGE_TO_HEAD @ r) for _, _, r in read[:NEUTRAL_FRAMES]],
                                      axis=0)
            for index in range(NEUTRAL_FRAMES, len(points)):
                if (index - NEUTRAL_FRAMES) % HOLD >= HOLD - 2:
                    aligned, _, rotation = read[index]
                    terms.append(head_pose_terms(IMAGE_TO_HEAD @ rotation) - neutral_terms)
                    moves.append((aligned - neutral).ravel())
            progress(f"{shape}: done")
    finally:
        renderer.close()
    matrix = np.linalg.lstsq(np.array(terms), np.array(moves), rcond=None)[0]  # (5, 153)
    return PoseDrift(matrix.T.reshape(len(MEDIAPIPE_IBUG), 3, -1))
