"""`python main.py process INPUT... -o out.fbx`: videos or image folders in, animation files out."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from mocap_app.core.config import AppConfig
from mocap_app.core.errors import ConfigError, NothingFoundError
from mocap_app.export import ExportOptions
from mocap_app.pipeline.batch import BatchEvent, BatchReport, BatchSettings, failure_summary, plan_batch, run_batch
from mocap_app.pipeline.process import (
    MODELS,
    ProcessOptions,
    build_body,
    build_detection,
    build_estimators,
    check_input,
    check_overlay_target,
    check_request,
    close_all,
    expand_inputs,
    plan_outputs,
    process_input,
)
from mocap_app.stream import stream_option

from .context import current_config


def process_command(
    ctx: typer.Context,
    inputs: list[Path] = typer.Argument(..., help="Video files, folders of videos, or folders of images."),
    outputs: list[Path] = typer.Option([], "--output", "-o",
                                       help="Output file (.fbx .bvh .glb .npz; repeatable), or a folder."),
    formats: list[str] = typer.Option(["fbx"], "--format", "-f", help="Formats written into an -o folder."),
    model: str = typer.Option(None, "--model", "-m", help=f"One of: {', '.join(MODELS)} (default: the "
                              "model.estimator setting, default)."),
    backend: str = typer.Option(None, "--backend", help="SMPLer-X backend: auto (TensorRT on an NVIDIA "
                                "GPU, else the fastest CPU path), torch, onnxruntime or tensorrt (default: the "
                                "model.backend setting, auto)."),
    checkpoint: Path = typer.Option(None, "--checkpoint", help="A SMPLer-X checkpoint file to run (default: the "
                                    "model's official file in paths.checkpoints); its size is read from the file."),
    precision: str = typer.Option(None, "--precision", help="SMPLer-X precision: auto (fp16 on a GPU, fp32 on "
                                  "the CPU), fp32, bf16, fp16 or int8 (ONNX Runtime) (default: the model.precision "
                                  "setting, auto)."),
    max_people: int = typer.Option(1, "--max-people", help="People to follow (1: one subject, the largest and "
                                   "most central, followed through the take, a gap while away; more: each "
                                   "person with a stable id)."),
    person: str = typer.Option("all", "--person", help="Export 'all' people (one file each), or one track id "
                               "(with --max-people 1: the person to follow)."),
    smoothing: str = typer.Option(None, "--smoothing", help="off, light, medium or strong (default: the "
                                  "settings', medium): look-ahead smoothing of the exported motion."),
    mesh: str = typer.Option("auto", "--mesh", help="FBX/glb body: auto (SMPL-X if installed, else the free "
                             "avatar), smplx, avatar or none (skeleton only)."),
    overlay: Path = typer.Option(None, "--overlay", help="Also write the input with the body drawn over it (.mp4)."),
    bone_names: str = typer.Option("smplx", "--bone-names", help="smplx, mixamo, unreal or unity."),
    root: str = typer.Option("ground", "--root", help="ground: standing on the floor at the origin; camera: "
                             "where the camera saw the body (camera at the origin)."),
    keep_journal: bool = typer.Option(False, "--keep-journal", help="Keep the crash-safe recording afterwards."),
    stream: str = typer.Option(None, "--stream", help="Also send the motion live to a VMC receiver "
                               "(vmc://HOST:PORT: VSeeFace, Warudo, VNyan, EVMC4U...), paced at the video's fps: "
                               "the person followed, or --person ID."),
    stream_fps: float = typer.Option(None, "--stream-fps", help="Send at most this many frames a second "
                                     "(default: every frame)."),
    workers: str = typer.Option(None, "--workers", help="Batch into the -o folder: process up to N inputs at "
                                "once ('auto': one per --worker-cpus cores, within free memory; 1 on a 2-core "
                                "machine), each worker loading its model once; a manifest in the folder lets a "
                                "re-run skip what is done. With --cluster: the number of Ray actors (default: the "
                                "cluster's CPUs / --worker-cpus)."),
    cluster: str = typer.Option(None, "--cluster", help="Batch on a Ray cluster: auto (RAY_ADDRESS, a running "
                                "local cluster, else a new local one) or ray://HOST:10001. Needs "
                                "requirements-cluster.txt."),
    worker_cpus: float = typer.Option(None, "--worker-cpus", help="CPUs each batch worker declares to Ray, and "
                                      "the cores per worker --workers auto assumes (default 2)."),
    worker_gpus: float = typer.Option(None, "--worker-gpus", help="GPUs each Ray worker declares (e.g. 1 or 0.5 "
                                      "for SMPLer-X on GPU nodes; default 0)."),
    retry_failed: bool = typer.Option(False, "--retry-failed", help="Batch: also redo the inputs the manifest "
                                      "lists as failed (they are skipped otherwise)."),
) -> None:
    """Capture the motion in videos or image folders and export it.

    Examples:
      python main.py process assets/samples/demo.mp4 -o demo.fbx --overlay demo_overlay.mp4
      python main.py process take.mp4 -o take.fbx -o take.bvh --model smplerx-s
      python main.py process take.mp4 -o take.fbx --checkpoint ~/Downloads/smpler_x_b32.pth.tar
      python main.py process videos/ -o out/ --format fbx --format npz
      python main.py process take.mp4 -o take.fbx --stream vmc://127.0.0.1:39539
      python main.py process videos/ -o out/ --format npz --workers 2
      python main.py process videos/ -o out/ --cluster ray://head:10001 --worker-gpus 1 --model smplerx-b
    """
    config = current_config(ctx)
    inputs = expand_inputs(inputs)
    batch = batch_settings(workers, cluster, worker_cpus, worker_gpus, retry_failed)
    options = ProcessOptions.from_settings(config, model=model, backend=backend, precision=precision,
                                           checkpoint=checkpoint,
                                           max_people=max_people, person=person, overlay=overlay, mesh=mesh,
                                           smoothing=smoothing, keep_journal=keep_journal,
                                           export=ExportOptions(bone_names=bone_names, root=root),
                                           stream=stream_option(stream, stream_fps, realtime=True,
                                                                track_id=int(person) if person.isdigit() else None))
    if batch is not None:
        run_batch_command(inputs, outputs, formats, options, config, batch)
        return
    plan = plan_outputs(inputs, outputs, formats)
    check_overlay_target(overlay, inputs, plan)
    for input_path, outs in plan.items():
        check_input(input_path, config)
        check_request(outs, options, config)
    console = Console(stderr=True)
    body = build_body(config, lambda line: console.print(f"[dim]{line}[/]")) if overlay else None
    estimators = build_estimators(options, config)
    detection = build_detection(options)
    summary = Table(title="mocap process")
    empty: list[str] = []
    for column in ("input", "frames", "fps", "people (frames each)", "written"):
        summary.add_column(column, overflow="fold")
    try:
        for input_path, outs in plan.items():
            with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                          TextColumn("{task.fields[fps]:5.1f} fps"), TimeElapsedColumn(), TimeRemainingColumn(),
                          console=console, transient=False) as progress:
                task = progress.add_task(input_path.name, total=None, fps=0.0)

                def advance(result, task=task, progress=progress) -> None:
                    elapsed = progress.tasks[task].elapsed or 1e-9
                    done = progress.tasks[task].completed + 1
                    progress.update(task, advance=1, fps=done / elapsed)

                def opened(info, task=task, progress=progress) -> None:
                    progress.update(task, total=info.frame_count)

                try:
                    outcome = process_input(input_path, outs, options, config, estimators, on_frame=advance,
                                            on_open=opened, body=body, detection=detection,
                                            progress=lambda line: console.print(f"[dim]{line}[/]"))
                except NothingFoundError:
                    if len(plan) == 1:
                        raise
                    empty.append(input_path.name)  # the other inputs still get processed
                    summary.add_row(input_path.name, "", "", "nobody found", "-")
                    continue
            people = ", ".join(f"#{t}: {n}" for t, n in sorted(outcome.frames_per_track.items()))
            streamed = [] if outcome.stream is None else [outcome.stream.summary]
            summary.add_row(input_path.name, str(outcome.report.frames), f"{outcome.report.fps:.1f}", people,
                            "\n".join([*map(str, outcome.written), *streamed]) or "-")
    finally:
        close_all([*estimators, *detection])
    Console().print(summary)
    if empty:
        raise NothingFoundError(f"Nobody was found in {len(empty)} of {len(plan)} inputs: {', '.join(empty)}.",
                                "The whole body should be visible and at least ~100 px tall; for several people "
                                "try --max-people 2.")


def batch_settings(workers: str | None, cluster: str | None, worker_cpus: float | None, worker_gpus: float | None,
                   retry_failed: bool) -> BatchSettings | None:
    """The batch options, or None for the plain run (one input after another in this process, no manifest)."""
    if workers is None and cluster is None and not retry_failed:
        if worker_cpus is not None or worker_gpus is not None:
            raise ConfigError("--worker-cpus and --worker-gpus size batch workers.",
                              "Add --workers N (or auto), or --cluster.")
        return None
    count = None
    if workers not in (None, "auto"):
        if not workers.isdigit() or int(workers) < 1:
            raise ConfigError(f"--workers must be a number of at least 1 or 'auto', got '{workers}'.",
                              "Example: --workers 2")
        count = int(workers)
    cpus = 2.0 if worker_cpus is None else worker_cpus
    gpus = 0.0 if worker_gpus is None else worker_gpus
    if cpus <= 0 or gpus < 0:
        raise ConfigError("--worker-cpus must be above 0 and --worker-gpus at least 0.", "Example: --worker-cpus 1")
    return BatchSettings(workers=count, cluster=cluster, worker_cpus=cpus, worker_gpus=gpus,
                         retry_failed=retry_failed)


def run_batch_command(inputs: list[Path], outputs: list[Path], formats: list[str], options: ProcessOptions,
                      config: AppConfig, batch: BatchSettings) -> None:
    """The batch: progress lines per input, the summary table; failed inputs end in one error (exit 1)."""
    plan = plan_batch(inputs, outputs, formats, options, config, retry_failed=batch.retry_failed)
    console = Console(stderr=True)
    if plan.earlier:
        console.print(f"[dim]{len(plan.earlier)} of {len(plan.inputs)} inputs were done by an earlier run with "
                      "these options: skipped[/]")
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TimeRemainingColumn(), console=console) as progress:
        task = progress.add_task("batch", total=len(plan.jobs))

        def show(event: BatchEvent) -> None:
            where = f" on {event.worker}" if event.worker else ""
            detail = f": {event.detail}" if event.detail else ""
            style = {"failed": "red", "retry": "yellow"}.get(event.kind, "dim")
            console.print(f"[{style}]{event.input.name} {event.kind}{where}{detail}[/]")
            if event.kind in ("done", "failed"):
                progress.update(task, advance=1)

        report = run_batch(plan, options, config, batch, on_event=show)
    Console().print(batch_table(report))
    error = failure_summary(report)
    if error is not None:
        raise error


def batch_table(report: BatchReport) -> Table:
    minutes = report.wall_s / 60
    table = Table(title=f"mocap process: {report.ran} inputs in {report.wall_s:.1f} s on {report.where} "
                  f"({report.workers} workers)" + (f", {report.ran / minutes:.1f} videos/min" if report.ran else ""))
    for column in ("input", "status", "frames", "people (frames each)", "s", "attempts", "worker", "written / error"):
        table.add_column(column, overflow="fold")
    for entry in report.entries:
        earlier = " (earlier)" if entry.input in report.skipped else ""
        what = "\n".join(Path(p).name for p in entry.outputs) if entry.status == "done" else (
            f"{entry.error.kind}: {entry.error.message}" if entry.error else "")
        table.add_row(Path(entry.input).name, entry.status + earlier, str(entry.frames),
                      ", ".join(f"#{t}: {n}" for t, n in sorted(entry.people.items())), f"{entry.seconds:.1f}",
                      str(entry.attempts), entry.worker, what)
    return table
