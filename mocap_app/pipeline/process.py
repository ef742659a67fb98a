"""Offline processing of one input (video file or image folder): the main job behind `python main.py process`.

input → capture → [person detection + tracking] → estimator → online smoothing → journal (+ overlay video)
→ per-track clips from the journal → offline smoothing → exports. Everything a user can get wrong is
checked before the first frame is processed.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mocap_app.backends.base import PRECISIONS
from mocap_app.backends.registry import BACKENDS, default_precision
from mocap_app.body.feet import LockedFeet
from mocap_app.capture import IMAGE_SUFFIXES, CaptureThread, SourceInfo, open_source
from mocap_app.core.config import AppConfig
from mocap_app.core.errors import (
    CaptureError,
    ConfigError,
    MocapError,
    ModelFileError,
    NothingFoundError,
    RunInterrupted,
)
from mocap_app.core.files import check_output_folder
from mocap_app.core.params import MotionClip
from mocap_app.export import ExportOptions, check_destination, person_path
from mocap_app.export.timeline import on_timeline
from mocap_app.models.configs import CHECKPOINT_SOURCE, CONFIGS
from mocap_app.smoothing import OnlineSmoother, SmoothingConfig, smooth_clip, smoothing_config
from mocap_app.stream import StreamConfig, StreamStatus, VmcStream

from .exporting import MESH_CHOICES, export_with_body
from .journal import JournalWriter, journal_to_clips
from .runner import FrameResult, Pipeline, PipelineReport, capture_queue_size
from .sinks import JournalSink, MeshSource, OverlayVideoSink

logger = logging.getLogger(__name__)

CHECKPOINT_NAMES = {f"smplerx-{size}": config.checkpoint for size, config in CONFIGS.items() if config.checkpoint}
MODELS = ("default", *CHECKPOINT_NAMES)
SIZE_FROM_CHECKPOINT = "smplerx"  # SMPLer-X of whatever size the --checkpoint file holds


@dataclass(frozen=True)
class ProcessOptions:
    """model: "default" (MediaPipe landmarks fit) or "smplerx-s|b|l|h"; backend ("auto" or a name of
    `backends.registry.BACKENDS`) and precision ("auto" = fp32 on the CPU, "fp32", "bf16", "fp16"): how a
    SMPLer-X network runs (the default estimator has neither); max_people: people to follow per frame (1: one
    subject, chosen and followed by the person detector, `detect.SubjectFollower`; more: the detector + IoU
    tracker find and follow each, every one keeping their id);
    person: "all" or one track id to export (with max_people 1: the person to follow, by the id a run with
    --max-people 2 or more lists); overlay: path of an overlay video to write, or None;
    mesh: body of the exported FBX/glb ("auto", "smplx", "avatar", "none"; see `exporting.body_for`);
    smoothing: preset (off | light | medium | strong) instead of the settings' one: causal while
    running (overlay), look-ahead (RTS) for the exported files;
    keep_journal: keep the recording after the exports succeeded;
    checkpoint: a SMPLer-X checkpoint file to run instead of `paths.checkpoints`/<official name>; its size is read
    from its tensors and must agree with `model` when that names one (model "smplerx": any size);
    stream: send the followed person's online-smoothed pose to a VMC receiver while running (`stream.VmcStream`),
    or None."""

    model: str = "default"
    backend: str = "auto"
    precision: str = "auto"
    checkpoint: Path | None = None
    max_people: int = 1
    person: str = "all"
    overlay: Path | None = None
    mesh: str = "auto"
    smoothing: str | None = None
    keep_journal: bool = False
    export: ExportOptions = field(default_factory=ExportOptions)
    stream: StreamConfig | None = None

    @classmethod
    def from_settings(cls, config: AppConfig, model: str | None = None, backend: str | None = None,
                      precision: str | None = None, checkpoint: Path | None = None,
                      **options: object) -> ProcessOptions:
        """Options where model/backend/precision not given (None) come from the `[model]` settings
        (`estimator`, `backend`, `precision`); a checkpoint file without a model means SMPLer-X of the file's
        size. A backend, precision or checkpoint asked for explicitly with the default estimator is an error:
        it has no network to run that way."""
        if checkpoint is not None and model == "default":
            raise ConfigError("--checkpoint names a SMPLer-X file, but --model default runs MediaPipe.",
                              "Drop --model default, or drop --checkpoint.")
        if checkpoint is not None and model is None and not config.model.estimator.startswith("smplerx-"):
            model = SIZE_FROM_CHECKPOINT
        model = model or config.model.estimator
        if model == "default":
            given = [f"--{name} {value}" for name, value in (("backend", backend), ("precision", precision))
                     if value not in (None, "auto")]
            if given:
                raise ConfigError(f"{' and '.join(given)} applies to SMPLer-X models; the default estimator "
                                  "(MediaPipe) has no backend or precision to choose.",
                                  "Add --model smplerx-s (or b, l, h), or drop the option.")
        return cls(model=model, backend=backend or config.model.backend, precision=precision or config.model.precision,
                   checkpoint=Path(checkpoint) if checkpoint is not None else None,
                   **options)  # type: ignore[arg-type]


@dataclass(frozen=True)
class ProcessOutcome:
    input: Path
    report: PipelineReport
    frames_per_track: dict[int, int]
    written: list[Path]
    journal: Path | None
    stream: StreamStatus | None = None  # the stream's figures at the end, when there was one


VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv")


def expand_inputs(inputs: list[Path]) -> list[Path]:
    """Files as given; a folder holding videos → its videos; a folder of images → one image sequence."""
    expanded: list[Path] = []
    for path in inputs:
        if not path.exists():
            raise CaptureError(f"Input {path} does not exist.", "Check the path.")
        if path.is_dir():
            videos = sorted(p for p in path.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES)
            if videos:
                expanded += videos
            elif any(p.suffix.lower() in IMAGE_SUFFIXES for p in path.iterdir()):
                expanded.append(path)
            else:
                raise CaptureError(f"Folder {path} holds no videos or images.",
                                   f"Video suffixes: {' '.join(VIDEO_SUFFIXES)}; images: {' '.join(IMAGE_SUFFIXES)}.")
        else:
            expanded.append(path)
    return expanded


def plan_outputs(inputs: list[Path], outputs: list[Path], formats: list[str]) -> dict[Path, list[Path]]:
    """Output files per input. One input: the -o files. Several: -o must be one folder; each input writes
    <folder>/<input name>.<format> for every --format."""
    if len(inputs) == 1 and not (len(outputs) == 1 and outputs[0].is_dir()):
        return {inputs[0]: outputs or [Path.cwd() / f"{inputs[0].stem}.fbx"]}
    folder = outputs[0] if outputs else Path.cwd()
    if len(outputs) > 1 or not folder.is_dir():
        raise ConfigError("With several inputs, -o must name one existing folder.",
                          "Example: python main.py process videos/ -o out/ --format fbx --format bvh")
    names = [i.stem for i in inputs]
    if len(set(names)) != len(names):
        raise ConfigError("Two inputs have the same name; their outputs would overwrite each other.",
                          "Process them separately or rename one.")
    return {i: [folder / f"{i.stem}.{fmt}" for fmt in formats] for i in inputs}


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b)
    except OSError:  # one of them does not exist (yet)
        return a.resolve() == b.resolve()


def check_overlay_target(overlay: Path | None, inputs: list[Path], plan: dict[Path, list[Path]]) -> None:
    """The overlay must be a file of its own: writing it over an input would destroy the source video, over an
    animation output would lose that file."""
    if overlay is None:
        return
    if len(inputs) > 1:
        raise ConfigError("--overlay names one video; it needs a single input.", "Process the inputs one by one.")
    for source in inputs:
        if _same_file(overlay, source):
            raise ConfigError(f"--overlay {overlay} is the input video itself; writing it would destroy the source.",
                              "Give the overlay its own name, e.g. --overlay take_overlay.mp4.")
    for outs in plan.values():
        if any(_same_file(overlay, out) for out in outs):
            raise ConfigError(f"--overlay {overlay} is also given with -o.", "Give the overlay its own name.")


def checkpoint_path(options: ProcessOptions, config: AppConfig) -> Path:
    """The SMPLer-X file to run: --checkpoint, else the model's official file name in `paths.checkpoints`."""
    if options.checkpoint is not None:
        return options.checkpoint
    return Path(config.paths.checkpoints) / CHECKPOINT_NAMES[options.model]


def available_models(config: AppConfig) -> list[tuple[str, str]]:
    """(model name, description) of what can run here: the default estimator, and each SMPLer-X size whose
    checkpoint is installed in `paths.checkpoints`, with the backend and precision it would run with."""
    models = [("default", "default: MediaPipe holistic fit (CPU)")]
    precision = "fp32" if config.model.precision == "auto" else config.model.precision
    backend = "torch" if config.model.backend == "auto" else config.model.backend
    for name, file_name in CHECKPOINT_NAMES.items():
        if (Path(config.paths.checkpoints) / file_name).is_file():
            models.append((name, f"{name} ({backend}, {precision}; non-commercial licence)"))
    return models


def smoothing_settings(config: AppConfig, preset: str | None = None) -> SmoothingConfig:
    """The smoothing parameters: `preset` (or the settings' preset) with the settings' raw overrides."""
    return smoothing_config(preset or config.smoothing.preset, **config.smoothing.params)


def online_smoother(smoothing: SmoothingConfig, fps: float) -> OnlineSmoother | None:
    """The pipeline's causal smoother for `smoothing`, or None when smoothing is off (no smoothing stage work)."""
    return OnlineSmoother(smoothing, fps=fps) if smoothing.enabled else None


def check_request(outputs: list[Path], options: ProcessOptions, config: AppConfig) -> None:
    """Everything that can be known before processing: model name, checkpoint, output formats and folders."""
    if options.model not in MODELS and not (options.model == SIZE_FROM_CHECKPOINT and options.checkpoint):
        raise ConfigError(f"Unknown model '{options.model}'.", f"Choose one of: {', '.join(MODELS)}.")
    if options.backend != "auto" and options.backend not in BACKENDS:
        raise ConfigError(f"Unknown backend '{options.backend}'.", f"Choose one of: auto, {', '.join(BACKENDS)}.")
    if options.precision not in ("auto", *PRECISIONS):
        raise ConfigError(f"Unknown precision '{options.precision}'.",
                          f"Choose one of: auto, {', '.join(PRECISIONS)}.")
    if options.model != "default":
        path = checkpoint_path(options, config)
        if path.is_dir():
            raise ModelFileError(f"Checkpoint {path} is a folder, not a file.",
                                 "Pass the .pth.tar file itself with --checkpoint, or its folder as "
                                 "--set paths.checkpoints=FOLDER.")
        if not path.is_file() and options.checkpoint is not None:
            raise ModelFileError(f"Checkpoint {path} does not exist.", "Check the path given with --checkpoint.")
        if not path.is_file():
            raise ModelFileError(
                f"The {options.model} checkpoint is not installed: {path} does not exist.",
                f"Download {path.name} from {CHECKPOINT_SOURCE} into {path.parent}/ (or pass the file with "
                "--checkpoint FILE), or use --model default.")
    if options.mesh not in MESH_CHOICES:
        raise ConfigError(f"'--mesh {options.mesh}' is not a mesh choice.", f"Use one of {', '.join(MESH_CHOICES)}.")
    smoothing_settings(config, options.smoothing)  # unknown preset → ConfigError now, not after processing
    if not 1 <= options.max_people <= 16:
        raise ConfigError(f"--max-people must be between 1 and 16, got {options.max_people}.",
                          "Use 1 for one person (fastest).")
    if options.person != "all" and not options.person.isdigit():
        raise ConfigError(f"--person must be 'all' or a track id, got '{options.person}'.",
                          "Run once with --person all to see the ids.")
    for path in outputs:
        check_destination(path)
    if options.overlay is not None:
        check_output_folder(options.overlay.parent, "Overlay")


def check_input(input_spec: str | Path, config: AppConfig) -> SourceInfo:
    """Open the input once (decodes its first frame) so a missing or broken file fails before any work."""
    source = open_source(input_spec, config.capture)
    source.close()
    return source.info


def drawn_skeleton(config: AppConfig):  # -> (55, 3) np.ndarray
    """The rest skeleton of the body overlays and exports use (`build_body`, `exporting.body_for` auto): the
    user's neutral SMPL-X when installed, else the default avatar's. The landmark fit places that skeleton on
    the pixels, so the drawn mesh sits on the person (fitting another skeleton left it 5-7 % of the height off)."""
    body_models = Path(config.paths.body_models)
    if (body_models / "smplx" / "SMPLX_NEUTRAL.npz").is_file():
        from mocap_app.body.smplx_model import SmplxModel

        return SmplxModel(body_models).rest_joints()
    from mocap_app.body.avatar_skeleton import AVATAR_REST_JOINTS

    return AVATAR_REST_JOINTS


def build_estimators(options: ProcessOptions, config: AppConfig) -> list:  # -> list[Estimator]
    """The estimator named by `options.model`, as the pipeline's parallel workers: `model.landmark_workers`
    MediaPipe estimators (they run outside the GIL), one SMPLer-X (torch already uses every core).
    Imports are deferred: each pulls in a heavy runtime."""
    if options.model == "default":
        from mocap_app.body.face_landmarks import smplx_face_model
        from mocap_app.estimators.landmarks import LandmarkEstimator

        skeleton = drawn_skeleton(config)
        # The user's SMPL-X model: its expression is fitted to the face too (a SMPL-X mesh shows it).
        face_model = None if config.model.face == "off" else smplx_face_model(Path(config.paths.body_models))
        return [LandmarkEstimator(rest_joints=skeleton, face=config.model.face, face_model=face_model)
                for _ in range(config.model.landmark_workers)]
    from mocap_app.estimators.smplerx import SmplerxEstimator

    hand_mean = None
    body_models = Path(config.paths.body_models)
    if any((body_models / "smplx").glob("SMPLX_*.npz")):
        from mocap_app.body.smplx_model import SmplxModel

        hand_mean = SmplxModel(body_models).hand_mean
    else:
        logger.warning("No SMPL-X model files in %s: SMPLer-X hand poses stay relative to the mean hand.",
                       body_models)
    # auto: fp16 where a GPU runs the network, fp32 on the CPU; the backend and device are chosen by the registry
    precision = default_precision(options.backend) if options.precision == "auto" else options.precision
    path = checkpoint_path(options, config)
    estimator = SmplerxEstimator.from_checkpoint(path, backend=options.backend, device="auto", precision=precision,
                                                 hand_mean=hand_mean)
    loaded = f"smplerx-{estimator.size}"
    if options.model not in (SIZE_FROM_CHECKPOINT, loaded):
        estimator.close()
        raise ModelFileError(f"{path} holds {loaded}, but --model asks for {options.model}.",
                             f"Use --model {loaded}, or drop --model to run the file's own size.")
    return [estimator]


def close_all(components: list) -> None:
    """Close estimators, detectors and trackers that hold resources (graphs, sessions)."""
    for component in components:
        if component is not None and hasattr(component, "close"):
            component.close()


def build_detection(options: ProcessOptions):  # -> (PersonDetector, PersonTracker | None)
    """Who the estimators look at. max_people 1: one subject (`detect.SubjectFollower`: the largest and most
    central person, or `--person ID`, followed by the detector through the take, a gap while they are away, the
    same person taken back by appearance); more: every person the detector finds, each with a stable id from
    the IoU tracker, kept across an absence by appearance (`detect.ReidentifyingTracker`)."""
    from mocap_app.detect import (
        BlazePoseDetector,
        DetectorConfig,
        ReidentifyingTracker,
        SubjectConfig,
        SubjectFollower,
    )

    if options.max_people == 1:
        person = int(options.person) if options.person.isdigit() else None
        return SubjectFollower(BlazePoseDetector(DetectorConfig(max_people=4)), SubjectConfig(person=person)), None
    return ReidentifyingTracker(BlazePoseDetector(DetectorConfig(max_people=options.max_people))), None


def build_body(config: AppConfig, progress: Callable[[str], None]) -> MeshSource:
    """The mesh shown in overlays: SMPL-X when the user installed it, else the free default avatar."""
    body_models = Path(config.paths.body_models)
    if (body_models / "smplx" / "SMPLX_NEUTRAL.npz").is_file():
        from mocap_app.body.smplx_model import SmplxModel

        return SmplxModel(body_models)
    from mocap_app.body.avatar import AnnyAvatar

    return AnnyAvatar(progress=progress).load()


def select_clips(clips: list[MotionClip], person: str) -> list[MotionClip]:
    if person == "all":
        return clips
    wanted = [c for c in clips if c.track_id == int(person)]
    if not wanted:
        raise ConfigError(f"Nobody with track id {person} was found.",
                          f"Track ids found: {', '.join(str(c.track_id) for c in clips)}.")
    return wanted


def recovery_hint(journal: Path) -> str:
    """How to get a take out of a journal that a run left behind."""
    return (f"The frames recorded so far are kept in {journal}; export them with "
            f"`mocap export {journal} -o take.fbx`.")


def process_input(input_spec: str | Path, outputs: list[Path], options: ProcessOptions, config: AppConfig,
                  estimators: list, on_frame: Callable[[FrameResult], None] | None = None,
                  on_open: Callable[[SourceInfo], None] | None = None,
                  body: MeshSource | None = None, journal: Path | None = None, detection: tuple | None = None,
                  progress: Callable[[str], None] = logger.info) -> ProcessOutcome:
    """Run the pipeline over one input and export its tracks. `estimators` (parallel workers) and
    `detection` (detector, tracker; default `build_detection(options)`, closed at the end) are reused across
    inputs. `journal`: the recording's path (default: a new name beside the first output). The exports span
    the whole take, first frame to last, whether or not someone is seen in them (`export.timeline`).

    Raises NothingFoundError when nobody was found (the empty journal is removed), RunInterrupted on Ctrl-C /
    SIGTERM; on these and on any failure after frames were recorded, the error names the kept journal."""
    source = open_source(input_spec, config.capture)
    if on_open is not None:
        on_open(source.info)
    # Estimators and renderers take RGB: convert on the capture thread, beside the estimator.
    capture = CaptureThread(source, queue_size=capture_queue_size(source.info.is_live, config.capture.queue_size),
                            prepare=lambda frame: frame.rgb)
    metadata = {"fps": source.info.fps, "source": {"input": str(input_spec), "model": options.model}}
    if journal is not None:
        writer = JournalWriter(journal, **metadata)
    else:
        writer = JournalWriter.new(outputs[0].parent if outputs else Path.cwd(), Path(input_spec).stem, **metadata)
    journal = writer.path
    sinks: list = [JournalSink(writer)]
    stream = None
    try:
        if options.stream is not None:
            stream = VmcStream(drawn_skeleton(config), options.stream)
            sinks.append(stream)
        if options.overlay is not None:
            if body is None:
                raise ValueError("an overlay needs a body model")
            sinks.append(OverlayVideoSink(options.overlay, source.info.fps, source.info.width, source.info.height,
                                          body, config.render.platform, msaa_samples=config.render.msaa_samples))
    except BaseException:
        if stream is not None:
            stream.abort()
        writer.close()
        journal.unlink(missing_ok=True)
        capture.source.close()
        raise
    smoothing = smoothing_settings(config, options.smoothing)
    smoother = online_smoother(smoothing, source.info.fps)
    if config.feet.mode == "lock":  # what the overlay and the stream show: feet locked causally, no lag
        smoother = LockedFeet(smoother, drawn_skeleton(config), source.info.fps)
    own_detection = detection is None
    detector, tracker = build_detection(options) if detection is None else detection
    for component in (detector, tracker):
        if hasattr(component, "reset"):
            component.reset()  # a new input: nobody carries over
    for estimator in estimators:
        if hasattr(estimator, "reset"):
            estimator.reset()  # a new input: no person carries over
    pipeline = Pipeline(capture, estimators, detector=detector, tracker=tracker, smoother=smoother, sinks=sinks,
                        queue_size=config.capture.queue_size)
    take: dict[str, int] = {}

    def seen(result: FrameResult) -> None:
        take.setdefault("start_ns", result.frame.timestamp_ns)
        take["end_ns"] = result.frame.timestamp_ns
        take.setdefault("start_index", result.frame.index)
        take["end_index"] = result.frame.index
        if on_frame is not None:
            on_frame(result)

    try:
        report = pipeline.run(seen)
        if not report.frames_per_track:
            journal.unlink(missing_ok=True)
            seen = f" (the overlay {options.overlay} shows the frames it looked at)" if options.overlay else ""
            raise NothingFoundError(
                f"Nobody was found in {Path(input_spec).name} ({report.frames} frames); nothing was exported{seen}.",
                "The whole body should be visible and at least ~100 px tall (in a 640x480 frame); for several "
                "people try --max-people 2.")
        written = _export_tracks(journal, outputs, options, config, smoothing, progress, take)
    except NothingFoundError:
        raise
    except KeyboardInterrupt:
        raise RunInterrupted("Interrupted.", _kept_or_removed(writer, journal)) from None
    except MocapError as exc:
        exc.hint = " ".join(part for part in (exc.hint, _kept_or_removed(writer, journal)) if part)
        raise
    except Exception as exc:
        exc.add_note(_kept_or_removed(writer, journal))
        raise
    finally:
        if own_detection:
            close_all([detector, tracker])
    if options.overlay is not None:
        written.append(options.overlay)
    if not options.keep_journal:
        journal.unlink()
    return ProcessOutcome(Path(input_spec), report, report.frames_per_track, written,
                          journal if options.keep_journal else None, stream.status() if stream is not None else None)


def _kept_or_removed(writer: JournalWriter, journal: Path) -> str:
    """After a failed run: the recovery hint when frames were recorded, else remove the empty journal."""
    if writer.records:
        return recovery_hint(journal)
    journal.unlink(missing_ok=True)
    return ""


def _export_tracks(journal: Path, outputs: list[Path], options: ProcessOptions, config: AppConfig,
                   smoothing: SmoothingConfig, progress: Callable[[str], None], take: dict[str, int]) -> list[Path]:
    """Each selected track's clip, smoothed, written to every output; `take` (first/last frame's timestamp and
    index) goes into each clip's source so its files last as long as the take."""
    clips = select_clips(journal_to_clips(journal, report=progress), options.person)
    clips = [dataclasses.replace(c, source={**(c.source or {}), "take": dict(take)}) for c in clips]
    if smoothing.enabled:
        clips = [smooth_clip(c, smoothing) for c in clips]
    # On the take's timeline before a body is fitted to it: a mesh's per-frame weights then match the file's frames.
    clips = [on_timeline(c) for c in clips]
    body_models = Path(config.paths.body_models)
    written = []
    for path in outputs:
        for clip in clips:
            target = person_path(path, clip.track_id, len(clips) > 1)
            written.append(export_with_body(clip, target, options.export, body_models, options.mesh,
                                            progress=progress, feet=config.feet.mode)[0])
    return written
