"""An estimator against rendered ground truth (`python main.py eval synthetic`).

The default avatar performs known motions (`body.motions`) in front of a textured room
(`render.synthetic`), seen from several yaw angles; the estimator runs on every rendered frame.
Reported per view: detection rate, body PA-MPJPE and MPJPE (mm), the root (pelvis) position error
(mm), the 2-D reprojection error of the body joints (pixels and % of the person's height in the
image; median over frames), and per-joint local-rotation errors (degrees) of the body, the hands
(frames where they were found) and the jaw.

Joint positions: the ground-truth and the estimated parameters are both posed on the avatar's own
skeleton (the body the app draws), so PA-MPJPE measures the pose, not the skeleton the estimator
assumed, while MPJPE, the root error and the reprojection error also measure where the drawn body
lands: translation and depth included. The person's height in the image is the vertical extent of
the projected ground-truth body joints (head joint to the lowest ankle, ~85 % of the stature, so the
percentage errs on the high side).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from mocap_app.body.metrics import mpjpe, pa_mpjpe, reprojection_error_px, rotation_errors_deg
from mocap_app.body.motions import MOTIONS, make_motion, place_in_camera
from mocap_app.core.errors import ConfigError
from mocap_app.core.frames import CameraIntrinsics, Frame
from mocap_app.core.params import SmplxParams
from mocap_app.core.rotations import axis_angle_to_matrix
from mocap_app.core.skeleton import JOINT_INDEX, JOINT_NAMES, forward_kinematics
from mocap_app.estimators.base import Estimator

BODY_JOINTS = np.arange(22)  # pelvis + 21 body joints
HAND_JOINTS = np.arange(25, 55)
JAW = JOINT_INDEX["jaw"]
ESTIMATORS = ("landmarks",)
FIT_SKELETONS = ("avatar", "reference")


@dataclass(frozen=True)
class ViewReport:
    """Results of one yaw angle over all motions. Errors are means over frames with a detection."""

    yaw_deg: float
    frames: int
    detection_rate: float
    body_pa_mpjpe_mm: float
    body_mpjpe_mm: float
    root_error_mm: float
    reprojection_px: float
    reprojection_pct_height: float
    body_angle_deg: float
    hand_angle_deg: float
    hands_found_rate: float
    jaw_angle_deg: float
    body_angle_by_joint_deg: dict[str, float]


def evaluate_view(estimator_factory: Callable[[], Estimator], renders: Sequence[np.ndarray],
                  truth: Sequence[SmplxParams], skeleton: np.ndarray, yaw_deg: float,
                  sequence_starts: Sequence[int] = (0,)) -> ViewReport:
    """Run a fresh estimator over each sequence of `renders` (RGB frames; a sequence starts at each index of
    `sequence_starts`) and compare with `truth` (one record per frame), posed on `skeleton` (55, 3)."""
    pa, body_err, hand_err, jaw_err, found, hands_found = [], [], [], [], 0, 0
    errors_3d, root_err, reprojection_px, reprojection_pct = [], [], [], []
    bounds = [*sequence_starts, len(renders)]
    for start, stop in itertools.pairwise(bounds):
        estimator = estimator_factory()
        try:
            for i in range(start, stop):
                frame = Frame(np.ascontiguousarray(renders[i][..., ::-1]), i - start, time.perf_counter_ns())
                people = estimator.estimate(frame, [])
                if not people:
                    continue
                found += 1
                estimate, gt = people[0], truth[i]
                pred_pose, gt_pose = estimate.full_pose(), gt.full_pose()
                _, joints = forward_kinematics(skeleton, axis_angle_to_matrix(np.stack([pred_pose, gt_pose])),
                                               np.stack([estimate.transl, gt.transl]))
                pred_body, gt_body = joints[0, BODY_JOINTS], joints[1, BODY_JOINTS]
                pa.append(pa_mpjpe(pred_body, gt_body))
                errors_3d.append(mpjpe(pred_body, gt_body))
                root_err.append(float(np.linalg.norm(pred_body[0] - gt_body[0])))
                px, pct = reprojection_error_px(pred_body, gt_body, gt.camera)
                reprojection_px.append(px)
                reprojection_pct.append(pct)
                errors = rotation_errors_deg(pred_pose, gt_pose)
                body_err.append(errors[1:22])
                jaw_err.append(errors[JAW])
                if (estimate.joint_confidence[HAND_JOINTS] > 0).any():
                    hands_found += 1
                    seen = estimate.joint_confidence[HAND_JOINTS] > 0
                    hand_err.append(errors[HAND_JOINTS][seen].mean())
        finally:
            estimator.close()

    def mean(values: list) -> float:
        return float(np.mean(values)) if values else float("nan")

    def median(values: list) -> float:
        return float(np.median(values)) if values else float("nan")

    by_joint = np.mean(body_err, axis=0) if body_err else np.full(21, np.nan)
    return ViewReport(
        yaw_deg=float(yaw_deg), frames=len(renders), detection_rate=found / max(len(renders), 1),
        body_pa_mpjpe_mm=1000.0 * mean(pa), body_mpjpe_mm=1000.0 * mean(errors_3d),
        root_error_mm=1000.0 * mean(root_err), reprojection_px=median(reprojection_px),
        reprojection_pct_height=median(reprojection_pct), body_angle_deg=mean(body_err), hand_angle_deg=mean(hand_err),
        hands_found_rate=hands_found / max(found, 1), jaw_angle_deg=mean(jaw_err),
        body_angle_by_joint_deg={JOINT_NAMES[j + 1]: round(float(v), 2) for j, v in enumerate(by_joint)})


def estimator_factory(name: str, camera: CameraIntrinsics,
                      rest_joints: np.ndarray | None = None) -> Callable[[], Estimator]:
    """A maker of fresh estimators called `name` (one of `ESTIMATORS`) for images seen by `camera`, fitting
    the skeleton `rest_joints` (55, 3) (None: the estimator's default)."""
    if name == "landmarks":
        from mocap_app.estimators.landmarks import LandmarkEstimator

        if rest_joints is None:
            return lambda: LandmarkEstimator(intrinsics=camera)
        return lambda: LandmarkEstimator(rest_joints, intrinsics=camera)
    raise ConfigError(f"Unknown estimator {name!r} for eval synthetic.", f"Choose one of: {', '.join(ESTIMATORS)}.")


def evaluate(estimator: str, motions: Sequence[str], yaws_deg: Sequence[float], frames: int, width: int,
             height: int, progress: Callable[[str], None] = lambda line: None,
             fit_skeleton: str = "avatar") -> list[ViewReport]:
    """The default avatar performs each of `motions` (`frames` frames each) rendered at `width` x `height`,
    seen from each yaw in `yaws_deg`; one `ViewReport` per yaw of `estimator` on those renders.

    fit_skeleton: "avatar" = the estimator fits the avatar's skeleton (the body the app draws),
    "reference" = its default skeleton (`body.rest_skeleton`).

    progress: receives the avatar's download/build messages. Opens an OpenGL context on this thread: the
    platform must have been chosen (`render.platform`) before the call.
    """
    from mocap_app.body.avatar import AnnyAvatar
    from mocap_app.render.offscreen import MeshRenderer
    from mocap_app.render.synthetic import render_motion, room_background

    unknown = [m for m in motions if m not in MOTIONS]
    if unknown:
        raise ConfigError(f"Unknown motion(s): {', '.join(unknown)}.", f"Choose from: {', '.join(MOTIONS)}.")
    if fit_skeleton not in FIT_SKELETONS:
        raise ConfigError(f"Unknown fit skeleton {fit_skeleton!r}.", f"Choose one of: {', '.join(FIT_SKELETONS)}.")
    camera = CameraIntrinsics.from_fov(width, height)
    avatar = AnnyAvatar(progress=progress).load()
    skeleton = avatar.rest_joints().astype(np.float64)
    factory = estimator_factory(estimator, camera, skeleton if fit_skeleton == "avatar" else None)
    background = room_background(width, height)
    reports = []
    renderer = MeshRenderer(width, height)  # this thread creates, uses and closes the GL context
    try:
        for yaw in yaws_deg:
            truth: list[SmplxParams] = []
            starts = []
            for name in motions:
                starts.append(len(truth))
                truth += place_in_camera(make_motion(name, frames), camera, yaw_deg=yaw, rest_joints=skeleton)
            renders = list(render_motion(renderer, avatar.meshes, truth, camera, background))
            reports.append(evaluate_view(factory, renders, truth, skeleton, yaw, starts))
    finally:
        renderer.close()
    return reports
