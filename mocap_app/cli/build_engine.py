"""`python main.py build-engine`: a SMPLer-X checkpoint as an ONNX graph (fp32 or int8) or a TensorRT engine in
engines/, with the JSON sidecar that says what it was built from and for. An artifact that is already there and
matches is kept (`--rebuild` builds it anyway); one that does not match is rebuilt."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from mocap_app.core.errors import ConfigError, ModelFileError
from mocap_app.models.configs import CHECKPOINT_SOURCE, CONFIGS

from .context import current_config

SIZES = ("s", "b", "l", "h")
FORMAT_PRECISIONS = {"onnx": ("fp32", "int8"), "tensorrt": ("fp16", "fp32", "bf16")}


def build_engine(
    ctx: typer.Context,
    size: str = typer.Option(None, "--size", help="s, b, l or h: the official checkpoint of that size in "
                             "paths.checkpoints (default: the size --checkpoint holds)."),
    fmt: str = typer.Option("onnx", "--format", help="onnx (ONNX Runtime, CPU or GPU) or tensorrt (NVIDIA GPU)."),
    precision: str = typer.Option(None, "--precision", help="onnx: fp32 or int8 (dynamic quantisation); tensorrt: "
                                  "fp16, fp32 or bf16 (default: fp32 for onnx, fp16 for tensorrt)."),
    checkpoint: Path = typer.Option(None, "--checkpoint", help="A SMPLer-X checkpoint file (default: the official "
                                    "file of --size in paths.checkpoints)."),
    batch_max: int = typer.Option(8, "--batch-max", min=1, max=64, help="Largest batch (persons per call)."),
    batch_opt: int = typer.Option(1, "--batch-opt", min=1, help="The batch TensorRT tunes for."),
    engines: Path = typer.Option(None, "--engines", help="Folder for the artifacts (default: engines/)."),
    rebuild: bool = typer.Option(False, "--rebuild", help="Build even when a matching artifact exists."),
) -> None:
    """Build the ONNX graph or TensorRT engine a checkpoint runs as; the onnxruntime and tensorrt backends use it.

    Examples:
      python main.py build-engine --size s --format onnx
      python main.py build-engine --size s --format onnx --precision int8
      python main.py build-engine --checkpoint smpler_x_h32.pth.tar --format tensorrt --precision fp16
    """
    from mocap_app.backends.artifacts import engines_home, sidecar_path
    from mocap_app.backends.build import BuildSpec, ensure_artifact
    from mocap_app.backends.registry import BACKENDS, require

    if fmt not in FORMAT_PRECISIONS:
        raise ConfigError(f"Unknown format '{fmt}'.", f"Use one of: {', '.join(FORMAT_PRECISIONS)}.")
    precision = precision or FORMAT_PRECISIONS[fmt][0]
    if precision not in FORMAT_PRECISIONS[fmt]:
        raise ConfigError(f"A {fmt} artifact is not built in {precision}.",
                          f"{fmt} precisions: {', '.join(FORMAT_PRECISIONS[fmt])}.")
    if size is not None and size not in SIZES:
        raise ConfigError(f"Unknown size '{size}'.", f"Use one of: {', '.join(SIZES)}.")
    if checkpoint is None:
        if size is None:
            raise ConfigError("build-engine needs --size or --checkpoint.", "For example: --size s")
        checkpoint = Path(current_config(ctx).paths.checkpoints) / CONFIGS[size].checkpoint
        if not checkpoint.is_file():
            raise ModelFileError(f"The SMPLer-X-{size.upper()} checkpoint is not installed: {checkpoint} does not "
                                 "exist.", f"Download {checkpoint.name} from {CHECKPOINT_SOURCE} into "
                                 f"{checkpoint.parent}/, or pass the file with --checkpoint FILE.")
    elif not Path(checkpoint).is_file():
        raise ModelFileError(f"Checkpoint {checkpoint} does not exist.", "Check the path given with --checkpoint.")
    require(BACKENDS["tensorrt" if fmt == "tensorrt" else "onnxruntime"])
    console = Console()
    spec = BuildSpec(Path(checkpoint), fmt, precision, engines or engines_home(), batch_opt=min(batch_opt, batch_max),
                     batch_max=batch_max)
    with console.status(f"{fmt} {precision} for {Path(checkpoint).name} …") as status:
        def progress(message: str) -> None:
            console.print(f"  {message}", highlight=False)
            status.update(message)

        path, key = ensure_artifact(spec, rebuild=rebuild, progress=progress)
    if size is not None and key.size != size:
        raise ModelFileError(f"{checkpoint} holds SMPLer-X size {key.size}, not {size}.",
                             f"Use --size {key.size}, or drop --size.")
    console.print(f"{fmt} {key.precision} (SMPLer-X {key.size}, batch {key.batch_min}-{key.batch_max}): {path}\n"
                  f"metadata: {sidecar_path(path)}", highlight=False)
