"""`python main.py bench model`: SMPLer-X speed per precision, side by side, in one run.

Random weights unless a checkpoint is given (speed does not depend on the values). Precisions are timed in
interleaved rounds so that load from other processes hits all of them alike.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

SIZES = ("s", "b", "l", "h")


def count_gflop(model: object, batch: np.ndarray) -> float:
    """GFLOP of one forward pass (2 FLOP per multiply-add: matmuls, convolutions, attention), counted by torch."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        model(torch.from_numpy(batch))  # type: ignore[operator]
    return counter.get_total_flops() / 1e9


def bench_model(
    size: str = typer.Option(None, "--size", help="Network size: s, b, l or h (default: from --checkpoint, else s)."),
    backend: str = typer.Option("torch", "--backend", help="Inference backend."),
    dtypes: list[str] = typer.Option(["fp32", "bf16"], "--dtype", help="Precision to time (repeatable)."),
    checkpoint: Path = typer.Option(None, "--checkpoint", help="Official checkpoint (default: random weights)."),
    batch_size: int = typer.Option(1, "--batch", min=1, help="Persons per forward pass."),
    rounds: int = typer.Option(5, "--rounds", min=1, help="Interleaved rounds; the median is reported."),
    iterations: int = typer.Option(4, "--iterations", min=1, help="Timed forward passes per precision per round."),
    warmup: int = typer.Option(2, "--warmup", min=0, help="Untimed passes per precision before timing."),
    threads: int = typer.Option(None, "--threads", min=1, help="torch CPU threads (default: torch's choice)."),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda."),
    json_path: Path = typer.Option(None, "--json", help="Write the figures to this JSON file."),
) -> None:
    """Time the whole SMPLer-X network (ViT, neck, heads) per precision: ms/frame, fps, GFLOP/s.

    Examples:
      python main.py bench model --size s --dtype fp32 --dtype bf16
      python main.py bench model --checkpoint assets/checkpoints/smpler_x_b32.pth.tar --json bench_b.json
    """
    import torch

    from mocap_app.backends.base import PRECISIONS
    from mocap_app.backends.checkpoint import load_checkpoint
    from mocap_app.backends.registry import BACKENDS
    from mocap_app.models.smplerx import INPUT_IMG_HW, build_smplerx, decode_outputs

    if backend != "torch":  # the other backends are timed through their built graphs: not in this table yet
        raise typer.BadParameter(f"backend {backend!r} is not timed here; available: torch", param_hint="--backend")
    if size is not None and size not in SIZES:
        raise typer.BadParameter(f"unknown size {size!r}; choose one of {', '.join(SIZES)}", param_hint="--size")
    bad = [d for d in dtypes if d not in PRECISIONS]
    if bad:
        raise typer.BadParameter(f"unknown precision {bad[0]!r}; choose from {', '.join(PRECISIONS)}",
                                 param_hint="--dtype")
    if threads:
        torch.set_num_threads(threads)

    if checkpoint is not None:
        model = load_checkpoint(checkpoint)
        if size is not None and size != model.config.name:
            raise typer.BadParameter(f"{checkpoint} holds size {model.config.name}, not {size}", param_hint="--size")
    else:
        torch.manual_seed(0)
        model = build_smplerx(size or "s")
    title = model.config.title
    backend_cls = BACKENDS[backend].load()
    runners = {dtype: backend_cls(model, device=device, precision=dtype) for dtype in dict.fromkeys(dtypes)}
    batch = np.random.default_rng(0).random((batch_size, 3, *INPUT_IMG_HW), dtype=np.float32)
    gflop = count_gflop(model, batch) / batch_size

    outputs = {}
    for dtype, runner in runners.items():
        for _ in range(warmup):
            outputs[dtype] = runner(batch)
        outputs[dtype] = runner(batch)
    timings: dict[str, list[float]] = {dtype: [] for dtype in runners}
    for _ in range(rounds):
        for dtype, runner in runners.items():
            start = time.perf_counter()
            for _ in range(iterations):
                runner(batch)
            timings[dtype].append((time.perf_counter() - start) * 1000 / (iterations * batch_size))

    reference = next(iter(runners))
    decoded = {dtype: decode_outputs({k: torch.from_numpy(v) for k, v in out.items()})
               for dtype, out in outputs.items()}
    pose_keys = [k for k in decoded[reference] if k.endswith("_pose")]
    figures: dict[str, object] = {
        "model": title, "backend": backend, "device": device, "threads": torch.get_num_threads(),
        "batch": batch_size, "gflop_per_frame": round(gflop, 3), "weights": str(checkpoint) if checkpoint else "random",
        "rounds": rounds, "iterations": iterations, "results": {},
    }
    table = Table(title=f"{title} · {backend} on {device}, {torch.get_num_threads()} threads, batch {batch_size}, "
                        f"{gflop:.2f} GFLOP/frame, median of {rounds} rounds")
    for column in ("precision", "ms/frame", "fps", "GFLOP/s", "speed-up", f"max |Δpose| vs {reference} (rad)"):
        table.add_column(column, justify="left" if column == "precision" else "right")
    base_ms = statistics.median(timings[reference])
    for dtype in runners:
        ms = statistics.median(timings[dtype])
        diff = max(float((decoded[dtype][k] - decoded[reference][k]).abs().max()) for k in pose_keys)
        figures["results"][dtype] = {  # type: ignore[index]
            "ms_per_frame": round(ms, 2), "fps": round(1000 / ms, 2), "gflop_per_s": round(gflop / ms * 1000, 1),
            "speedup": round(base_ms / ms, 2), "max_abs_pose_diff_rad": round(diff, 5), "all_ms": timings[dtype],
        }
        table.add_row(dtype, f"{ms:.1f}", f"{1000 / ms:.2f}", f"{gflop / ms * 1000:.0f}", f"{base_ms / ms:.2f}x",
                      f"{diff:.4f}")
    Console().print(table)
    if json_path:
        json_path.write_text(json.dumps(figures, indent=2) + "\n")
