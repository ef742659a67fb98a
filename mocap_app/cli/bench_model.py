"""`python main.py bench model`: SMPLer-X speed and accuracy cost per backend × precision, side by side, in one run.

Rows: torch eager fp32 (the reference), torch bf16, torch.compile, ONNX Runtime fp32 and int8 on the CPU; on a GPU
torch CUDA fp32/fp16/bf16 (+ CUDA graph), ONNX Runtime CUDA, TensorRT fp16/fp32. Each is timed in interleaved rounds
(load from other processes hits all alike) and compared with torch fp32 on crops of the bundled sample clip: max
|Δ| of the raw outputs and the joint angle error in degrees (geodesic, 53 SMPL-X rotations: root, body, jaw, hands).
Attained GFLOP/s are set against the CPU's fp32 peak, cores × clock × FLOP/cycle read from lscpu (`cpu_peak`).
Random weights unless a checkpoint is given (speed does not depend on the values); their ONNX graph is built once
into engines/ (seeded weights → the same file → the same cached graph).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import re
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from mocap_app.core.errors import ConfigError, MocapError

SIZES = ("s", "b", "l", "h")
SAMPLE = Path(__file__).resolve().parents[2] / "assets" / "samples" / "demo.mp4"
SAMPLE_FRAMES = (0, 60, 120)  # standing, a curl, the start of the squat
SAMPLE_BOX = (230.0, 80.0, 410.0, 460.0)  # xyxy around the avatar, which stays at the centre of the 640x480 clip
POSE_KEYS = ("smplx_root_pose", "smplx_body_pose", "smplx_jaw_pose", "smplx_lhand_pose", "smplx_rhand_pose")


@dataclass(frozen=True)
class CpuPeak:
    """The CPU's fp32 peak: cores × GHz × FLOP/cycle. flop_per_cycle = FMA pipes × fp32 lanes × 2, from lscpu's
    flags and vendor (how: the rule used); ghz: lscpu's max MHz, else the clock /proc/cpuinfo reports (a VM shows
    its base clock: a boosting CPU can exceed this peak)."""

    model: str
    cores: int
    ghz: float
    flop_per_cycle: int
    how: str

    @property
    def gflop_per_s(self) -> float:
        return self.cores * self.ghz * self.flop_per_cycle


def cpu_peak(lscpu: str | None = None, cpuinfo: str | None = None) -> CpuPeak:
    """Parse `lscpu` (and /proc/cpuinfo for the clock when lscpu has no max MHz)."""
    if lscpu is None:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    fields = dict(line.split(":", 1) for line in lscpu.splitlines() if ":" in line)
    fields = {key.strip(): value.strip() for key, value in fields.items()}
    flags = set(fields.get("Flags", "").split())
    cores = int(fields.get("Core(s) per socket", 1)) * int(fields.get("Socket(s)", 1))
    mhz = fields.get("CPU max MHz") or fields.get("CPU MHz")
    if not mhz:
        if cpuinfo is None:
            cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").is_file() else ""
        found = re.search(r"cpu MHz\s*:\s*([\d.]+)", cpuinfo)
        mhz = found.group(1) if found else "0"
    amd_family = int(fields.get("CPU family", 0)) if fields.get("Vendor ID") == "AuthenticAMD" else 0
    if "avx512f" in flags and amd_family == 25:
        flop, how = 32, "AVX-512 on Zen 4's 256-bit datapaths: 2 FMA x 8 fp32 x 2"
    elif "avx512f" in flags:
        flop, how = 64, "AVX-512: 2 FMA x 16 fp32 x 2"
    elif {"avx2", "fma"} <= flags:
        flop, how = 32, "AVX2+FMA: 2 FMA x 8 fp32 x 2"
    elif "avx" in flags:
        flop, how = 16, "AVX: 8 fp32 add + 8 mul"
    else:
        flop, how = 8, "SSE: 4 fp32 add + 4 mul"
    return CpuPeak(fields.get("Model name", "unknown CPU"), cores, float(mhz) / 1000, flop, how)


def joint_angle_errors_deg(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> np.ndarray:
    """(N, 53) geodesic angle in degrees between the rotations of two decoded outputs (root, 21 body, jaw, 2 x 15
    hand joints), per crop and joint."""
    from mocap_app.core.rotations import axis_angle_to_matrix

    def rotations(out: dict[str, np.ndarray]) -> np.ndarray:
        parts = [out[key].reshape(out[key].shape[0], -1, 3) for key in POSE_KEYS]
        return axis_angle_to_matrix(np.concatenate(parts, axis=1))

    relative = np.swapaxes(rotations(a), -1, -2) @ rotations(b)
    cos = (np.trace(relative, axis1=-2, axis2=-1) - 1) / 2
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def sample_crops() -> np.ndarray:
    """(3, 3, 512, 384) float32 crops of the sample clip around the avatar (cut as the estimator cuts them): a
    rendered person, the input the accuracy columns are measured on."""
    import cv2

    from mocap_app.estimators.crop import crop_image, process_box

    capture = cv2.VideoCapture(str(SAMPLE))
    crops = []
    try:
        for index in SAMPLE_FRAMES:
            capture.set(cv2.CAP_PROP_POS_FRAMES, index)
            ok, image = capture.read()
            if not ok:
                raise ConfigError(f"Cannot read frame {index} of {SAMPLE}.", "Restore assets/samples/demo.mp4.")
            x1, y1, x2, y2 = SAMPLE_BOX
            box = process_box(np.array([x1, y1, x2 - x1, y2 - y1]), image.shape[1], image.shape[0])
            crops.append(crop_image(image, box)[:, :, ::-1].transpose(2, 0, 1) / np.float32(255.0))
    finally:
        capture.release()
    return np.ascontiguousarray(np.stack(crops), dtype=np.float32)


def count_gflop(model: object, batch: np.ndarray) -> float:
    """GFLOP of one forward pass (2 FLOP per multiply-add: matmuls, convolutions, attention), counted by torch."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        model(torch.from_numpy(batch))  # type: ignore[operator]
    return counter.get_total_flops() / 1e9


@dataclass(frozen=True)
class Candidate:
    """One row: label, how to open it (→ a callable batch → raw outputs) and its describe() line."""

    label: str
    backend: str
    precision: str
    open: Callable[[], object]


def candidates(model, checkpoint: Path, backend: str, precisions: list[str], device: str, use_compile: bool,
               engines: Path, batch_max: int, threads: int) -> list[Candidate]:
    from mocap_app.backends.registry import BACKENDS, load_backend
    from mocap_app.backends.torch_backend import TorchBackend

    wanted = list(BACKENDS) if backend == "all" else [backend]
    gpu = device == "cuda"
    rows: list[Candidate] = []
    if "torch" in wanted:
        for precision in [p for p in precisions if p in (("fp32", "fp16", "bf16") if gpu else ("fp32", "bf16"))]:
            rows.append(Candidate(f"torch {precision}", "torch", precision,
                                  lambda p=precision: TorchBackend(model, device=device, precision=p)))
        # Graph rows fix the RoI grid of the module they run (`use_fixed_roi_grid`): they get their own copy, so the
        # eager rows keep the official rule.
        if use_compile:
            rows.append(Candidate("torch.compile fp32", "torch", "fp32", lambda: TorchBackend(
                copy.deepcopy(model), device=device, precision="fp32", compile=True)))
        if gpu and "fp16" in precisions:
            rows.append(Candidate("torch fp16 CUDA graph", "torch", "fp16", lambda: TorchBackend(
                copy.deepcopy(model), device=device, precision="fp16", cuda_graph_batch=1)))
    runtimes = {"onnxruntime": ("fp32", "int8") if not gpu else ("fp32",), "tensorrt": ("fp16", "fp32")}
    for name in [n for n in ("onnxruntime", "tensorrt") if n in wanted]:
        for precision in [p for p in runtimes[name] if p in precisions]:
            ort_device = ("cuda" if gpu else "cpu") if name == "onnxruntime" else "cuda"
            rows.append(Candidate(f"{name} {precision}", name, precision,
                                  lambda n=name, p=precision, d=ort_device: load_backend(
                                      checkpoint, backend=n, device=d, precision=p, engines_dir=engines,
                                      batch_max=batch_max, threads=threads)))
    return rows


def bench_model(
    size: str = typer.Option(None, "--size", help="Network size: s, b, l or h (default: from --checkpoint, else s)."),
    backend: str = typer.Option("all", "--backend", help="all, torch, onnxruntime or tensorrt."),
    precisions: list[str] = typer.Option(["fp32", "bf16", "fp16", "int8"], "--precision", "--dtype",
                                         help="Precisions to time where a backend has them (repeatable)."),
    use_compile: bool = typer.Option(True, "--compile/--no-compile", help="Include torch.compile (inductor; its "
                                     "first call compiles, tens of seconds on a CPU)."),
    checkpoint: Path = typer.Option(None, "--checkpoint", help="Official checkpoint (default: random weights)."),
    batch_size: int = typer.Option(1, "--batch", min=1, help="Persons per forward pass."),
    rounds: int = typer.Option(5, "--rounds", min=1, help="Interleaved rounds; the median is reported."),
    iterations: int = typer.Option(4, "--iterations", min=1, help="Timed forward passes per row per round."),
    warmup: int = typer.Option(2, "--warmup", min=0, help="Untimed passes per row before timing."),
    threads: int = typer.Option(None, "--threads", min=1, help="CPU threads for torch and ONNX Runtime "
                                "(default: one per core)."),
    device: str = typer.Option("auto", "--device", help="auto (cuda when torch sees a GPU), cpu or cuda."),
    engines: Path = typer.Option(None, "--engines", help="Folder of built graphs/engines (default: engines/)."),
    ghz: float = typer.Option(None, "--cpu-ghz", help="CPU clock for the peak (default: from lscpu)."),
    json_path: Path = typer.Option(None, "--json", help="Write the figures to this JSON file."),
) -> None:
    """Time the whole SMPLer-X network (ViT, neck, heads, hand crops) per backend and precision: ms/frame, fps,
    GFLOP/s, ratio to the compute floor, and the accuracy cost vs torch fp32.

    Examples:
      python main.py bench model --size s --json bench_s.json
      python main.py bench model --checkpoint assets/checkpoints/smpler_x_b32.pth.tar --backend onnxruntime
    """
    import torch

    from mocap_app.backends.artifacts import engines_home
    from mocap_app.backends.base import PRECISIONS
    from mocap_app.backends.checkpoint import load_checkpoint
    from mocap_app.backends.registry import BACKEND_CHOICES
    from mocap_app.models.layout import decode_outputs
    from mocap_app.models.smplerx import build_smplerx

    if backend not in ("all", *BACKEND_CHOICES[1:]):
        raise typer.BadParameter(f"unknown backend {backend!r}; choose all or one of {', '.join(BACKEND_CHOICES[1:])}",
                                 param_hint="--backend")
    if size is not None and size not in SIZES:
        raise typer.BadParameter(f"unknown size {size!r}; choose one of {', '.join(SIZES)}", param_hint="--size")
    bad = [p for p in precisions if p not in PRECISIONS]
    if bad:
        raise typer.BadParameter(f"unknown precision {bad[0]!r}; choose from {', '.join(PRECISIONS)}",
                                 param_hint="--precision")
    device = ("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else device
    threads = threads or torch.get_num_threads()
    torch.set_num_threads(threads)
    engines = engines or engines_home()
    console = Console()

    if checkpoint is not None:
        model = load_checkpoint(checkpoint)
        if size is not None and size != model.config.name:
            raise typer.BadParameter(f"{checkpoint} holds size {model.config.name}, not {size}", param_hint="--size")
    else:
        torch.manual_seed(0)
        model = build_smplerx(size or "s")
        checkpoint = Path(engines) / f"bench-random-{model.config.name}.pth.tar"  # seeded: same bytes every run
        if not checkpoint.is_file():
            checkpoint.parent.mkdir(parents=True, exist_ok=True)
            torch.save({"network": {f"module.{k}": v for k, v in model.state_dict().items()}}, checkpoint)
    title = model.config.title
    crops = sample_crops()
    batch = np.ascontiguousarray(np.resize(crops, (batch_size, *crops.shape[1:])))
    gflop = count_gflop(model, batch) / batch_size
    peak = cpu_peak()
    if ghz:
        peak = CpuPeak(peak.model, peak.cores, ghz, peak.flop_per_cycle, peak.how + " (clock from --cpu-ghz)")
    if threads < peak.cores:  # the floor of the cores the rows may use
        peak = dataclasses.replace(peak, cores=threads)
    floor_ms = gflop / peak.gflop_per_s * 1000

    runners: dict[str, Callable[[np.ndarray], dict[str, np.ndarray]]] = {}
    infos: dict[str, dict[str, object]] = {}
    skipped: dict[str, str] = {}
    for row in candidates(model, checkpoint, backend, precisions, device, use_compile, engines, max(8, batch_size),
                          threads):
        start = time.perf_counter()
        try:
            with console.status(f"loading {row.label} …"):
                runner = row.open()
                for _ in range(max(warmup, 1)):  # torch.compile compiles here
                    runner(batch)  # type: ignore[operator]
        except MocapError as exc:
            skipped[row.label] = exc.message
            console.print(f"[yellow]skipped {row.label}[/]: {exc.message}", highlight=False)
            continue
        runners[row.label] = runner  # type: ignore[assignment]
        infos[row.label] = {"backend": row.backend, "precision": row.precision,
                            "describe": runner.describe().line(),  # type: ignore[attr-defined]
                            "load_and_warmup_s": round(time.perf_counter() - start, 2)}
    if not runners:
        raise ConfigError("No backend could run here: " + "; ".join(f"{k}: {v}" for k, v in skipped.items()),
                          "python main.py doctor lists what is installed.")
    timings: dict[str, list[float]] = {label: [] for label in runners}
    load_before = os.getloadavg()[0]
    for _ in range(rounds):
        for label, runner in runners.items():
            start = time.perf_counter()
            for _ in range(iterations):
                runner(batch)
            timings[label].append((time.perf_counter() - start) * 1000 / (iterations * batch_size))

    reference_label = next(iter(runners))
    raw = {label: runner(crops) for label, runner in runners.items()}
    decoded = {label: decode_outputs(out) for label, out in raw.items()}
    base_ms = statistics.median(timings[reference_label])
    figures: dict[str, object] = {
        "model": title, "device": device, "threads": threads, "batch": batch_size, "weights":
        str(checkpoint) if "bench-random" not in checkpoint.name else "random (seed 0)",
        "gflop_per_frame": round(gflop, 3), "cpu": asdict(peak) | {"peak_gflop_per_s": round(peak.gflop_per_s, 1)},
        "floor_ms_per_frame": round(floor_ms, 2), "reference": reference_label, "rounds": rounds,
        "iterations": iterations, "accuracy_input": f"{len(crops)} crops of {SAMPLE.name}", "results": {},
        "skipped": skipped, "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }
    table = Table(title=f"{title} on {device}, {threads} threads, batch {batch_size}, {gflop:.1f} GFLOP/frame; "
                        f"fp32 peak {peak.gflop_per_s:.0f} GFLOP/s = {peak.cores} cores x {peak.ghz:.2f} GHz x "
                        f"{peak.flop_per_cycle} FLOP/cycle ({peak.how}); floor {floor_ms:.0f} ms; median of "
                        f"{rounds} rounds")
    for column in ("backend", "ms/frame", "fps", "GFLOP/s", "x floor", f"speed-up vs {reference_label}",
                   "max |Δ raw|", "angle err mean / max (deg)", "load s"):
        table.add_column(column, justify="left" if column == "backend" else "right")
    for label in runners:
        ms = statistics.median(timings[label])
        diff = max(float(np.abs(raw[label][k] - raw[reference_label][k]).max()) for k in raw[label])
        angles = joint_angle_errors_deg(decoded[reference_label], decoded[label])
        row = {
            **infos[label], "ms_per_frame": round(ms, 2), "fps": round(1000 / ms, 2),
            "gflop_per_s": round(gflop / ms * 1000, 1), "ratio_to_floor": round(ms / floor_ms, 2),
            "speedup_vs_reference": round(base_ms / ms, 2), "max_abs_raw_diff_vs_reference": round(diff, 6),
            "angle_err_mean_deg": round(float(angles.mean()), 4), "angle_err_max_deg": round(float(angles.max()), 4),
            "all_ms_per_frame": [round(t, 2) for t in timings[label]],
        }
        figures["results"][label] = row  # type: ignore[index]
        table.add_row(label, f"{ms:.1f}", f"{1000 / ms:.2f}", f"{row['gflop_per_s']:.0f}",
                      f"{row['ratio_to_floor']:.2f}", f"{row['speedup_vs_reference']:.2f}x", f"{diff:.2g}",
                      f"{row['angle_err_mean_deg']:.3f} / {row['angle_err_max_deg']:.3f}",
                      f"{row['load_and_warmup_s']:.1f}")
    console.print(table)
    if max(figures["load_average_1min"]) > peak.cores / 2:  # type: ignore[arg-type]
        console.print(f"[yellow]note[/]: load average {load_before:.1f} → {os.getloadavg()[0]:.1f} on "
                      f"{peak.cores} cores: other processes shared the CPU; compare the rows, not the absolutes.")
    for label, info in infos.items():
        console.print(f"  {label}: {info['describe']}", highlight=False)
    if json_path:
        json_path.write_text(json.dumps(figures, indent=2) + "\n")
