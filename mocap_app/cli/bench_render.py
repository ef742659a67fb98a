"""`python main.py bench render`: SMPL-X forward time and offscreen render fps of both views."""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from mocap_app.core.frames import CameraIntrinsics
from mocap_app.core.params import SmplxParams

from .context import current_config

TARGET_FPS = 30.0


def _animated_params(camera: CameraIntrinsics, num_frames: int) -> list[SmplxParams]:
    """A person waving and turning in front of the camera: every frame a different pose."""
    frames = []
    for i in range(num_frames):
        phase = 2 * np.pi * i / 60.0
        body_pose = np.zeros((21, 3))
        body_pose[15] = (0.0, 0.0, -0.8 + 0.5 * np.sin(phase))  # left shoulder
        body_pose[17] = (0.0, -1.0 - 0.4 * np.sin(phase), 0.0)  # left elbow
        body_pose[3] = (0.4 + 0.3 * np.sin(phase), 0.0, 0.0)  # left knee
        hands = np.tile((0.0, 0.0, 0.3 + 0.3 * np.sin(phase)), (15, 1))
        frames.append(SmplxParams.neutral(
            camera, global_orient=(np.pi, 0.3 * np.sin(phase / 2), 0.0), body_pose=body_pose,
            left_hand_pose=hands, right_hand_pose=-hands, transl=(0.1 * np.sin(phase), 0.15, 3.0), frame_index=i))
    return frames


def _median_ms(samples: list[float]) -> float:
    return 1000.0 * statistics.median(samples)


def bench_render(
    ctx: typer.Context,
    frames: int = typer.Option(120, help="Frames to time (after 5 warm-up frames)."),
    size: str = typer.Option("640x480", help="WxH of both views."),
    json_path: Path = typer.Option(None, "--json", help="Write the figures to this JSON file."),
) -> None:
    """SMPL-X forward ms (batch 1) and render fps of the camera overlay and the orbit view, one person.

    Uses the SMPL-X files under paths.body_models if present, else a synthetic SMPL-X model of the same
    size generated into a temporary folder. Renders with render.platform (EGL or OSMesa).

    Examples:
      python main.py bench render
      python main.py bench render --json render.json
      python main.py --set render.platform=osmesa bench render --frames 300
    """
    import torch

    from mocap_app.body.smplx_model import SmplxModel, smplx_model_path
    from mocap_app.body.synthetic_smplx import write_synthetic_smplx
    from mocap_app.render import OrbitView, RenderThread

    config = current_config(ctx)
    width, height = (int(v) for v in size.lower().split("x"))
    camera = CameraIntrinsics.from_fov(width, height)
    console = Console()
    warmup = 5
    params = _animated_params(camera, warmup + frames)
    background = np.ascontiguousarray(
        np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8))
    with tempfile.TemporaryDirectory() as scratch:
        body_models = Path(config.paths.body_models)
        synthetic = not smplx_model_path(body_models).is_file()
        if synthetic:
            console.print(f"No SMPL-X files in {body_models}: timing a synthetic model of the same size.")
            body_models = write_synthetic_smplx(Path(scratch))
        model = SmplxModel(body_models)

    forward_s, overlay_s, orbit_s, frame_s = [], [], [], []
    view = OrbitView()
    with RenderThread(config.render.platform, width, height, config.render.msaa_samples) as renderer:
        platform = renderer.platform
        for i, p in enumerate(params):
            start = time.perf_counter()
            mesh = model.meshes(p)
            posed = time.perf_counter()
            renderer.overlay(mesh, camera, background)
            overlaid = time.perf_counter()
            renderer.orbit(mesh, view)
            done = time.perf_counter()
            if i >= warmup:
                forward_s.append(posed - start)
                overlay_s.append(overlaid - posed)
                orbit_s.append(done - overlaid)
                frame_s.append(done - start)

    forward_ms, overlay_ms, orbit_ms, frame_ms = map(_median_ms, (forward_s, overlay_s, orbit_s, frame_s))
    figures = {
        "body_model": "synthetic SMPL-X (10475 vertices)" if synthetic else str(smplx_model_path(body_models)),
        "platform": platform, "width": width, "height": height, "frames": frames,
        "torch_threads": torch.get_num_threads(),
        "smplx_forward_ms": round(forward_ms, 2),
        "overlay_ms": round(overlay_ms, 2), "overlay_fps": round(1000 / overlay_ms, 1),
        "orbit_ms": round(orbit_ms, 2), "orbit_fps": round(1000 / orbit_ms, 1),
        "frame_ms": round(frame_ms, 2), "frame_fps": round(1000 / frame_ms, 1),
    }
    table = Table(title=f"render: one person, {width}x{height}, {platform}, "
                        f"msaa {config.render.msaa_samples}, median of {frames} frames")
    for column in ("stage", "ms", "fps"):
        table.add_column(column, justify="left" if column == "stage" else "right")
    table.add_row("SMPL-X forward + mesh", f"{forward_ms:.1f}", "")
    table.add_row("camera overlay view", f"{overlay_ms:.1f}", f"{1000 / overlay_ms:.0f}")
    table.add_row("orbit view", f"{orbit_ms:.1f}", f"{1000 / orbit_ms:.0f}")
    table.add_row("all three, one frame", f"{frame_ms:.1f}", f"{1000 / frame_ms:.0f}")
    console.print(table)
    slow = [name for name, ms in (("overlay", overlay_ms), ("orbit", orbit_ms)) if ms > 1000 / TARGET_FPS]
    console.print(f"target ≥ {TARGET_FPS:.0f} fps per view: " + ("met" if not slow else f"missed by {', '.join(slow)}"))
    if json_path:
        json_path.write_text(json.dumps(figures, indent=2) + "\n")
