"""Render the sample clip in assets/samples/: the free default avatar (Anny, CC0 data) performing the
`demo` motion in a synthetic room, with its ground-truth parameters. Run once; the outputs are committed.

    .venv/bin/python scripts/make_sample_clip.py
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

from mocap_app.body.avatar import AnnyAvatar  # noqa: E402
from mocap_app.body.motions import make_motion, place_in_camera  # noqa: E402
from mocap_app.core.frames import CameraIntrinsics  # noqa: E402
from mocap_app.core.params import MotionClip  # noqa: E402
from mocap_app.render.offscreen import MeshRenderer  # noqa: E402
from mocap_app.render.synthetic import render_motion, room_background, write_video  # noqa: E402

WIDTH, HEIGHT, FPS, FRAMES = 640, 480, 30.0, 150


def main() -> None:
    out = ROOT / "assets" / "samples"
    camera = CameraIntrinsics.from_fov(WIDTH, HEIGHT)
    params = place_in_camera(make_motion("demo", FRAMES, FPS), camera, distance_m=2.6)
    avatar = AnnyAvatar(progress=print).load()
    renderer = MeshRenderer(WIDTH, HEIGHT)
    try:
        frames = render_motion(renderer, avatar.meshes, params, camera, room_background(WIDTH, HEIGHT))
        count = write_video(str(out / "demo.mp4"), frames, FPS, WIDTH, HEIGHT)
    finally:
        renderer.close()
    MotionClip.from_params(params, FPS, source={"motion": "demo", "renderer": "scripts/make_sample_clip.py"}).save(
        out / "demo_truth.npz")
    print(f"wrote {count} frames to {out / 'demo.mp4'} and the ground truth to {out / 'demo_truth.npz'}")


if __name__ == "__main__":
    main()
