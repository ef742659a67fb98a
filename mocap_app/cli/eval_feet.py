"""`python main.py eval feet`: the foot clean-up against synthetic motion with known contacts.

The ground truth, the noise and the measures are `mocap_app.pipeline.evaluation.feet`'s.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from mocap_app.core.crash import cpu_description
from mocap_app.pipeline.evaluation.feet import YAWS_DEG, FeetNoise, evaluate

_COLUMNS = {"skate_mm_per_frame": "skate mm/f", "penetration_mean_mm": "pen. mean mm",
            "penetration_max_mm": "pen. max mm", "penetration_own_floor_max_mm": "pen. own floor mm",
            "floor_error_mm": "floor err mm", "contact_precision": "contact P", "contact_recall": "contact R",
            "contact_f1": "contact F1", "mpjpe_mm": "MPJPE mm"}


def eval_feet(
    frames: int = typer.Option(90, min=30, help="Frames per clip (30 fps)."),
    seed: int = typer.Option(0, help="Seed of the noise."),
    json_path: Path = typer.Option(None, "--json", help="Write the figures to this JSON file."),
) -> None:
    """Foot skate, penetration, floor, contacts and MPJPE without the foot clean-up (off), with it (lock: the
    offline pass exports get) and with its causal version (live: no lag, no floor fit).

    Examples:
      python main.py eval feet
      python main.py eval feet --frames 150 --json feet.json
    """
    report = evaluate(frames, seed)
    table = Table(title=f"feet: walk, pivot turn, squat, jump x yaw {', '.join(f'{y:.0f}' for y in YAWS_DEG)}°, "
                        f"{frames} frames each, 30 fps ({report.seconds:.1f} s, {cpu_description()})")
    table.add_column("motion", no_wrap=True)
    table.add_column("clean-up")
    for label in _COLUMNS.values():
        table.add_column(label, justify="right")
    for name in report.raw:
        for stage, figures in (("off", report.raw[name]), ("lock", report.cleaned[name]),
                               ("live", report.online[name])):
            values = dataclasses.asdict(figures)
            table.add_row(name if stage == "off" else "", stage, *(
                "-" if values[key] is None else f"{values[key]:.3f}" if key.startswith("contact")
                else f"{values[key]:.1f}" for key in _COLUMNS))
    console = Console()
    console.print(table)
    console.print(f"jump: {report.jump_air_contact_frames} frames in the air with a planted foot, "
                  f"{100 * report.jump_height_kept:.0f}% of its height kept; turn: planted foot within "
                  f"{report.turn_foot_drift_mm:.1f} mm, {100 * report.turn_heading_kept:.0f}% of its turn kept")
    console.print("pen.: the lowest sole point below the true floor; own floor: below the floor the feet were held on "
                  "(lock: the fitted one, the exported y = 0; live: the running one); floor err: the true floor under "
                  "the true contacts from the fitted one")
    console.print("targets: skate ≤ 2 mm/frame, penetration ≤ 5 mm, contact F1 ≥ 0.9, MPJPE within 5 % of off")
    if json_path:
        figures = {"frames": frames, "seed": seed, "cpu": cpu_description(), "noise": dataclasses.asdict(FeetNoise()),
                   "seconds": report.seconds, "clips": report.clips,
                   "off": {k: dataclasses.asdict(v) for k, v in report.raw.items()},
                   "lock": {k: dataclasses.asdict(v) for k, v in report.cleaned.items()},
                   "live": {k: dataclasses.asdict(v) for k, v in report.online.items()},
                   "jump_air_contact_frames": report.jump_air_contact_frames,
                   "jump_height_kept_ratio": report.jump_height_kept,
                   "turn_foot_drift_mm": report.turn_foot_drift_mm,
                   "turn_heading_kept_ratio": report.turn_heading_kept}
        json_path.write_text(json.dumps(figures, indent=2) + "\n")
