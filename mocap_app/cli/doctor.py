"""`python main.py doctor`: what this machine has, what is missing, and what to do about it."""

from __future__ import annotations

import importlib.util
import platform
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from mocap_app.backends.probe import onnxruntime_info, tensorrt_info, torch_info
from mocap_app.capture import list_cameras, open_camera
from mocap_app.core.config import AppConfig, CaptureConfig
from mocap_app.core.errors import CaptureError
from mocap_app.models.configs import CHECKPOINT_SOURCE, CONFIGS

from .context import current_config

# Official SMPLer-X releases: file name → parameter count (fp32 weights are 4 bytes each).
CHECKPOINTS = {config.checkpoint: config.num_params for config in CONFIGS.values() if config.checkpoint}
BODY_MODEL_FILES = ("SMPLX_NEUTRAL.npz", "SMPLX_MALE.npz", "SMPLX_FEMALE.npz")
SMPLX_KEYS = ("v_template", "f", "shapedirs", "posedirs", "J_regressor", "weights", "kintree_table")
MEDIAPIPE_MODELS = ("pose_landmark/pose_landmark_full.tflite", "pose_detection/pose_detection.tflite",
                    "hand_landmark/hand_landmark_full.tflite", "face_landmark/face_landmark.tflite",
                    "holistic_landmark/hand_recrop.tflite")
# torch.save's legacy (pre-zip) format starts with a pickled magic number.
TORCH_LEGACY_MAGIC = b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19"


@dataclass(frozen=True)
class Check:
    """status: "ok", "info" (optional, not needed for the default path) or "fail" (blocks the app)."""

    item: str
    status: str
    detail: str
    todo: str = ""


def _python_checks() -> list[Check]:
    version = platform.python_version()
    ok = sys.version_info >= (3, 11)
    return [
        Check("Python", "ok" if ok else "fail", f"{version} ({sys.executable})", "" if ok else "Use Python 3.11."),
        Check("OS", "ok", platform.platform()),
    ]


def _runtime_checks() -> list[Check]:
    checks = []
    torch = torch_info()
    checks.append(Check("PyTorch", "ok" if torch.available else "fail",
                        f"{torch.version}: {torch.detail}" if torch.available else torch.detail,
                        "" if torch.available else "pip install -r requirements.txt"))
    ort = onnxruntime_info()
    checks.append(Check("ONNX Runtime", "ok" if ort.available else "info",
                        f"{ort.version}: {ort.detail}" if ort.available else ort.detail,
                        "" if ort.available else "pip install onnxruntime (CPU) or onnxruntime-gpu"))
    trt = tensorrt_info()
    checks.append(Check("TensorRT", "ok" if trt.available else "info",
                        f"{trt.version}: {trt.detail}" if trt.available else trt.detail,
                        "" if trt.available else "Optional, NVIDIA GPUs only: pip install -r requirements-gpu.txt "
                        "with NVIDIA's package index (see README)."))
    return checks


def _opengl_checks(config: AppConfig) -> list[Check]:
    from mocap_app.render.platform import resolve_platform
    from mocap_app.render.probe import PLATFORMS, probe_platform

    configured = resolve_platform(config.render.platform)
    checks, working = [], []
    for name in PLATFORMS:
        ok, detail = probe_platform(name)
        chosen = " [configured]" if name == configured else ""
        if ok:
            working.append(name)
        checks.append(Check(f"OpenGL offscreen: {name}{chosen}", "ok" if ok else "info", detail))
    if configured not in working:
        fix = (f"Set render.platform = \"{working[0]}\" in your config file."
               if working else "Install Mesa: apt-get install libegl1 libgl1-mesa-dri (EGL) or libosmesa6 (OSMesa).")
        checks.append(Check("OpenGL for rendering", "fail",
                            f"configured platform {configured} does not work", fix))
    return checks


def _qt_checks() -> list[Check]:
    from mocap_app.gui.probe import probe_qt_platform

    ok, detail = probe_qt_platform(None)
    if ok:
        return [Check("Qt platform", "ok", f"{detail} (the GUI opens windows here)")]
    offscreen_ok, _ = probe_qt_platform("offscreen")
    return [Check("Qt platform", "info", f"no window system usable: {detail}",
                  "The GUI needs a desktop session (or `xvfb-run`); command-line processing works without one."
                  + (" Qt's offscreen platform works." if offscreen_ok else ""))]


def _mediapipe_check() -> Check:
    spec = importlib.util.find_spec("mediapipe")
    if spec is None or not spec.submodule_search_locations:
        return Check("MediaPipe (default estimator)", "fail", "not installed", "pip install -r requirements.txt")
    root = Path(next(iter(spec.submodule_search_locations))) / "modules"
    missing = [name for name in MEDIAPIPE_MODELS if not (root / name).is_file()]
    if missing:
        return Check("MediaPipe (default estimator)", "fail", f"bundled models missing: {', '.join(missing)}",
                     "Reinstall: pip install --force-reinstall mediapipe==0.10.14")
    return Check("MediaPipe (default estimator)", "ok", f"holistic models bundled ({len(MEDIAPIPE_MODELS)} files)")


def _avatar_check() -> Check:
    """The free default avatar: built already, or built (once, about a minute) on first use."""
    from mocap_app.body.avatar import AvatarCache

    if importlib.util.find_spec("anny") is None:
        return Check("Default avatar (Anny)", "fail", "the anny package is not installed",
                     "pip install -r requirements.txt")
    cache = AvatarCache.resolve()
    built = sum(p.stat().st_size for p in cache.anny_dir.rglob("*.safetensors")) if cache.anny_dir.is_dir() else 0
    rig = cache.rig_path
    if rig.is_file():
        return Check("Default avatar (Anny)", "ok",
                     f"built: {rig} ({rig.stat().st_size / 1e6:.0f} MB; Anny's data {built / 1e9:.2f} GB beside it)")
    return Check("Default avatar (Anny)", "info", f"not built yet (cache folder {cache.anny_dir})",
                 "Nothing to do: the first run builds it (about a minute, ~0.8 GB there; set ANNY_CACHE_DIR to "
                 "put it elsewhere), or build it now: python -m mocap_app.body.avatar")


def _camera_checks(settings: CaptureConfig) -> list[Check]:
    cameras = list_cameras()
    if not cameras:
        return [Check("Cameras", "info", "none found",
                      "Connect a webcam for live capture; video files and image folders work without one.")]
    checks = [Check("Cameras", "ok", "found at index " + ", ".join(map(str, cameras)))]
    asked = f"asked for {settings.width}x{settings.height} at {settings.fps:g} fps"
    item = f"Camera {settings.camera_index} (capture.camera_index)"
    try:
        camera = open_camera(settings)
    except CaptureError as exc:
        return [*checks, Check(item, "info", exc.message,
                               f"Set capture.camera_index to one of {', '.join(map(str, cameras))}.")]
    info = camera.info
    camera.close()
    delivered = f"delivers {info.width}x{info.height} at {info.fps:g} fps ({asked})"
    if (info.width, info.height) != (settings.width, settings.height):
        return [*checks, Check(item, "info", delivered,
                               "The camera chose the nearest mode it has; set capture.width/height to that mode.")]
    return [*checks, Check(item, "ok", delivered)]


def _looks_like_torch_file(path: Path) -> bool:
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            return any(name.endswith("data.pkl") for name in archive.namelist())
    with path.open("rb") as handle:
        return handle.read(len(TORCH_LEGACY_MAGIC)) == TORCH_LEGACY_MAGIC


def _checkpoint_checks(folder: Path) -> list[Check]:
    checks = []
    present = {name: folder / name for name in CHECKPOINTS if (folder / name).is_file()}
    if len(present) < len(CHECKPOINTS):
        absent = ", ".join(name for name in CHECKPOINTS if name not in present)
        checks.append(Check("SMPLer-X checkpoints", "info", f"not present: {absent}",
                            f"Optional (the default estimator needs none): download them from {CHECKPOINT_SOURCE} "
                            f"into {folder}/"))
    for name, path in present.items():
        num_params = CHECKPOINTS[name]
        size = path.stat().st_size
        expected = 4 * num_params
        problems = []
        if size < 0.95 * expected:
            problems.append(f"smaller than its {expected / 1e6:.0f} MB of weights (truncated download?)")
        if not _looks_like_torch_file(path):
            problems.append("not a PyTorch checkpoint")
        status = "fail" if problems else "ok"
        detail = f"{size / 1e6:.0f} MB" + (": " + "; ".join(problems) if problems else ", looks valid")
        checks.append(Check(f"SMPLer-X {name}", status, detail, "Download it again." if problems else ""))
    return checks


def _body_model_checks(folder: Path) -> list[Check]:
    smplx_dir = folder / "smplx"
    checks = []
    absent = []
    for name in BODY_MODEL_FILES:
        path = smplx_dir / name
        pkl = path.with_suffix(".pkl")
        if not path.is_file():
            if pkl.is_file():
                checks.append(Check(f"SMPL-X {name}", "fail", f"only {pkl.name} found",
                                    "The .pkl release needs chumpy, which does not work on Python 3.11: "
                                    "download the .npz release from https://smpl-x.is.tue.mpg.de"))
            else:
                absent.append(name)
            continue
        try:
            with np.load(path, allow_pickle=False) as data:
                missing = [key for key in SMPLX_KEYS if key not in data.files]
                vertices = data["v_template"].shape if "v_template" in data.files else None
        except (OSError, ValueError, zipfile.BadZipFile) as exc:
            checks.append(Check(f"SMPL-X {name}", "fail", f"unreadable: {exc}", "Download it again."))
            continue
        if missing:
            checks.append(Check(f"SMPL-X {name}", "fail", f"lacks {', '.join(missing)}", "Download it again."))
        else:
            checks.append(Check(f"SMPL-X {name}", "ok", f"{path.stat().st_size / 1e6:.0f} MB, template {vertices}"))
    if absent:
        checks.append(Check("SMPL-X body models", "info",
                            f"not present: {', '.join(absent)} (the free default avatar is used)",
                            "Optional, non-commercial licence: register at https://smpl-x.is.tue.mpg.de, "
                            f"download the SMPL-X .npz models into {smplx_dir}/"))
    return checks


def run_checks(config: AppConfig) -> list[Check]:
    return [
        *_python_checks(),
        *_runtime_checks(),
        *_opengl_checks(config),
        *_qt_checks(),
        _mediapipe_check(),
        _avatar_check(),
        *_camera_checks(config.capture),
        *_checkpoint_checks(Path(config.paths.checkpoints)),
        *_body_model_checks(Path(config.paths.body_models)),
    ]


_MARKS = {"ok": "[green]✔ ok[/]", "info": "[yellow]– missing (optional)[/]", "fail": "[red]✗ FAIL[/]"}


def doctor(ctx: typer.Context) -> None:
    """Check Python, inference runtimes, OpenGL, Qt, cameras, checkpoints and body models.

    Exits 1 when something the default capture path needs is broken.

    Example: python main.py doctor
    """
    checks = run_checks(current_config(ctx))
    table = Table(title="mocap doctor", show_lines=False)
    for column in ("item", "status", "detail", "what to do"):
        table.add_column(column, overflow="fold")
    for check in checks:
        table.add_row(check.item, _MARKS[check.status], check.detail, check.todo)
    Console(width=160).print(table)
    failures = [c.item for c in checks if c.status == "fail"]
    if failures:
        Console(stderr=True).print(f"[red]{len(failures)} problem(s) block the app: {', '.join(failures)}[/]")
        raise typer.Exit(1)
