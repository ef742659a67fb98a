"""`python main.py eval synthetic`: the estimator against rendered ground truth.

The default avatar performs known motions (`body.motions`) at 640x480 in front of a textured room
(`render.synthetic`), seen from several yaw angles; the estimator runs on every rendered frame.
Reported per view: detection rate, body PA-MPJPE (mm), and per-joint local-rotation errors
(degrees) of the body, the hands (frames where they were found) and the jaw.

Joint positions for PA-MPJPE: the ground-truth and the estimated rotations are both posed on the
avatar's own skeleton, so the error measures the pose, not the skeleton the estimator assumed.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from mocap_app.body.metrics import pa_mpjpe
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


def rotation_errors_deg(pred_pose: np.ndarray, gt_pose: np.ndarray) -> np.ndarray:
    """(J,) geodesic angles in degrees between two (J, 3) axis-angle poses, joint by joint."""
    relative = np.swapaxes(axis_angle_to_matrix(pred_pose), -1, -2) @ axis_angle_to_matrix(gt_pose)
    cos = (np.trace(relative, axis1=-2, axis2=-1) - 1.0) / 2.0
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


@dataclass(frozen=True)
class ViewReport:
    """Results of one yaw angle over all motions. Errors are means over frames with a detection."""

    yaw_deg: float
    frames: int
    detection_rate: float
    body_pa_mpjpe_mm: float
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
                _, joints = forward_kinematics(skeleton, axis_angle_to_matrix(np.stack([pred_pose, gt_pose])))
                pa.append(pa_mpjpe(joints[0, BODY_JOINTS], joints[1, BODY_JOINTS]))
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

    by_joint = np.mean(body_err, axis=0) if body_err else np.full(21, np.nan)
    return ViewReport(
        yaw_deg=float(yaw_deg), frames=len(renders), detection_rate=found / max(len(renders), 1),
        body_pa_mpjpe_mm=1000.0 * mean(pa), body_angle_deg=mean(body_err), hand_angle_deg=mean(hand_err),
        hands_found_rate=hands_found / max(found, 1), jaw_angle_deg=mean(jaw_err),
        body_angle_by_joint_deg={JOINT_NAMES[j + 1]: round(float(v), 2) for j, v in enumerate(by_joint)})


def _estimator_factory(name: str, camera: CameraIntrinsics) -> Callable[[], Estimator]:
    if name == "landmarks":
        from mocap_app.estimators.landmarks import LandmarkEstimator

        return lambda: LandmarkEstimator(intrinsics=camera)
    raise ConfigError(f"Unknown estimator {name!r} for eval synthetic.", f"Choose one of: {', '.join(ESTIMATORS)}.")


def eval_synthetic(
    estimator: str = typer.Option("landmarks", help=f"Estimator to evaluate: {', '.join(ESTIMATORS)}."),
    motions: str = typer.Option("arms_raise,elbow_curl,squat,look_and_talk", help="Comma-separated motions."),
    views: str = typer.Option("0,45,90", help="Comma-separated yaw angles in degrees (0 = facing the camera)."),
    frames: int = typer.Option(30, help="Frames per motion."),
    size: str = typer.Option("640x480", help="WxH of the renders."),
    json_path: Path = typer.Option(None, "--json", help="Write the figures to this JSON file."),
) -> None:
    """Render the default avatar in known motions and score an estimator against the truth.

    Examples:
      python main.py eval synthetic
      python main.py eval synthetic --views 0 --motions squat --frames 20
      python main.py eval synthetic --json eval.json
    """
    from mocap_app.body.avatar import AnnyAvatar
    from mocap_app.body.motions import MOTIONS, make_motion, place_in_camera
    from mocap_app.render.offscreen import MeshRenderer  # OpenGL: the platform was chosen by the app callback
    from mocap_app.render.synthetic import render_motion, room_background

    names = [m.strip() for m in motions.split(",") if m.strip()]
    unknown = [m for m in names if m not in MOTIONS]
    if unknown:
        raise ConfigError(f"Unknown motion(s): {', '.join(unknown)}.", f"Choose from: {', '.join(MOTIONS)}.")
    yaws = [float(v) for v in views.split(",") if v.strip()]
    width, height = (int(v) for v in size.lower().split("x"))
    camera = CameraIntrinsics.from_fov(width, height)
    factory = _estimator_factory(estimator, camera)
    console = Console()
    avatar = AnnyAvatar(progress=console.print).load()
    skeleton = avatar.rest_joints().astype(np.float64)
    background = room_background(width, height)
    reports = []
    renderer = MeshRenderer(width, height)  # this thread creates, uses and closes the GL context
    try:
        for yaw in yaws:
            truth: list[SmplxParams] = []
            starts = []
            for name in names:
                starts.append(len(truth))
                truth += place_in_camera(make_motion(name, frames), camera, yaw_deg=yaw, rest_joints=skeleton)
            renders = list(render_motion(renderer, avatar.meshes, truth, camera, background))
            reports.append(evaluate_view(factory, renders, truth, skeleton, yaw, starts))
    finally:
        renderer.close()
    table = Table(title=f"eval synthetic: {estimator}, {len(names)} motion(s) x {frames} frames per view, "
                        f"{width}x{height}")
    for column in ("yaw°", "detected", "body PA-MPJPE mm", "body joint °", "hands found", "hand joint °", "jaw °"):
        table.add_column(column, justify="right")
    for r in reports:
        table.add_row(f"{r.yaw_deg:.0f}", f"{100 * r.detection_rate:.0f}%", f"{r.body_pa_mpjpe_mm:.1f}",
                      f"{r.body_angle_deg:.1f}", f"{100 * r.hands_found_rate:.0f}%", f"{r.hand_angle_deg:.1f}",
                      f"{r.jaw_angle_deg:.1f}")
    console.print(table)
    if json_path:
        json_path.write_text(json.dumps({"estimator": estimator, "motions": names, "frames_per_motion": frames,
                                         "width": width, "height": height,
                                         "views": [asdict(r) for r in reports]}, indent=2) + "\n")
