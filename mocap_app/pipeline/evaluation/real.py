"""The default estimator on real photos or a real video with hand-placed 2-D keypoints (`python main.py eval real`).

Annotations: one JSON file (`keypoints.json` in the folder, or any file given), format "mocap-keypoints-2d":

    {"format": "mocap-keypoints-2d", "version": 1,
     "video": "take.mp4",                      # optional: the frames below are frames of this video
     "images": [
       {"file": "astronaut.png",               # an image beside the JSON file (or "frame": N of the video)
        "source": "scikit-image 0.26 skimage/data/astronaut.png", "licence": "public domain (NASA)",
        "people": [
          {"height_px": 1240,                  # the person's standing height in pixels (see below)
           "box": [x0, y0, x1, y1],            # optional: the visible person, pixels
           "keypoints": {"head": [x, y, v], "left_shoulder": [x, y, v], ...}}]}]}

Keypoints: the 13 main joints of `keypoints.MAIN_JOINTS` (the person's own left/right), in pixels of the
image as stored (x right, y down, origin at the top-left corner of the top-left pixel); v = 2 visible,
1 hidden but placed by judgement, 0 or missing = not placed (outside the image): left out of the score.
"head" is the middle of the head at ear height. height_px: the full standing height (crown to soles), in
pixels; when the person is cut by the frame, estimated as 7.5 head heights (chin to crown). Without it,
the box's height is used.

Score: PCK@0.1: the share of placed joints whose estimate lies within 0.1 × height_px of the annotation.
Each estimate (the default estimator's SMPL-X joints projected with its camera) is matched one-to-one to an
annotated person by mean joint error; an annotated person with no estimate scores 0 on every placed joint.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from mocap_app.core.config import AppConfig
from mocap_app.core.errors import ConfigError

from ..process import drawn_skeleton
from .keypoints import MAIN_JOINTS, PCK_FRACTION, estimate_keypoints, keypoint_errors, match_people
from .runs import ArraySource, run_frames

FORMAT = "mocap-keypoints-2d"
DEFAULT_NAME = "keypoints.json"


class AnnotationError(ConfigError):
    """An annotation file that cannot be read as the format above."""


@dataclass(frozen=True)
class AnnotatedPerson:
    """keypoints: (13, 2) float64 pixels, `MAIN_JOINTS` order; visible: (13,) bool, placed joints;
    height_px: standing height in pixels; box: (4,) xyxy or None."""

    keypoints: np.ndarray
    visible: np.ndarray
    height_px: float
    box: np.ndarray | None = None


@dataclass(frozen=True)
class AnnotatedImage:
    """One annotated image: `file` (beside the JSON) or `frame` (index into the video)."""

    name: str
    people: tuple[AnnotatedPerson, ...]
    file: Path | None = None
    frame: int | None = None


@dataclass(frozen=True)
class Annotations:
    path: Path
    images: tuple[AnnotatedImage, ...]
    video: Path | None = None


def _person(raw: dict, where: str) -> AnnotatedPerson:
    points = raw.get("keypoints")
    if not isinstance(points, dict):
        raise AnnotationError(f"{where}: 'keypoints' must be an object of joint name → [x, y, v].",
                              f"Joint names: {', '.join(MAIN_JOINTS)}.")
    unknown = sorted(set(points) - set(MAIN_JOINTS))
    if unknown:
        raise AnnotationError(f"{where}: unknown joint(s) {', '.join(unknown)}.",
                              f"Joint names: {', '.join(MAIN_JOINTS)}.")
    keypoints, visible = np.zeros((len(MAIN_JOINTS), 2)), np.zeros(len(MAIN_JOINTS), bool)
    for j, name in enumerate(MAIN_JOINTS):
        value = points.get(name)
        if value is None:
            continue
        if not (isinstance(value, list) and len(value) == 3 and all(isinstance(v, int | float) for v in value)):
            raise AnnotationError(f"{where}: '{name}' must be [x, y, v] (numbers), got {value!r}.",
                                  "v: 2 visible, 1 hidden but placed, 0 not placed.")
        keypoints[j], visible[j] = value[:2], value[2] > 0
    box = raw.get("box")
    if box is not None:
        if not (isinstance(box, list) and len(box) == 4 and box[2] > box[0] and box[3] > box[1]):
            raise AnnotationError(f"{where}: 'box' must be [x0, y0, x1, y1] with x1 > x0 and y1 > y0.", "")
        box = np.array(box, dtype=np.float64)
    height = raw.get("height_px", None if box is None else float(box[3] - box[1]))
    if not isinstance(height, int | float) or height <= 0:
        raise AnnotationError(f"{where}: the person needs 'height_px' (a positive number) or a 'box'.",
                              "height_px: standing height in pixels; 7.5 head heights when cut by the frame.")
    return AnnotatedPerson(keypoints, visible, float(height), box)


def load_annotations(path: Path) -> Annotations:
    """Read an annotation file (or `keypoints.json` in the folder `path`); raises `AnnotationError`."""
    path = Path(path)
    if path.is_dir():
        path = path / DEFAULT_NAME
    if not path.is_file():
        raise AnnotationError(f"No annotation file {path}.",
                              f"Put the keypoints in {DEFAULT_NAME} beside the images (format: mocap_app/pipeline/"
                              "evaluation/real.py, example: tests/data/real/).")
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AnnotationError(f"{path} is not readable JSON: {exc}.", "Check the file.") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("version") != 1:
        raise AnnotationError(f"{path} is not a '{FORMAT}' version 1 file.",
                              f'It must start {{"format": "{FORMAT}", "version": 1, "images": [...]}}.')
    video = data.get("video")
    video_path = path.parent / video if video else None
    if video_path is not None and not video_path.is_file():
        raise AnnotationError(f"{path}: the video {video_path} does not exist.", "Check 'video'.")
    entries = data.get("images")
    if not isinstance(entries, list) or not entries:
        raise AnnotationError(f"{path}: 'images' must be a non-empty list.", "")
    images = []
    for i, entry in enumerate(entries):
        where = f"{path.name} images[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("people"), list):
            raise AnnotationError(f"{where}: each image needs 'file' or 'frame', and 'people' (a list).", "")
        people = tuple(_person(p, f"{where} people[{k}]") for k, p in enumerate(entry["people"]))
        if video_path is not None:
            frame = entry.get("frame")
            if not isinstance(frame, int) or frame < 0:
                raise AnnotationError(f"{where}: with a 'video', each image needs 'frame' (an index from 0).", "")
            images.append(AnnotatedImage(f"{video_path.name}#{frame}", people, frame=frame))
        else:
            file = entry.get("file")
            if not isinstance(file, str) or not (path.parent / file).is_file():
                raise AnnotationError(f"{where}: image {file!r} not found beside {path.name}.", "Check 'file'.")
            images.append(AnnotatedImage(file, people, file=path.parent / file))
    return Annotations(path, tuple(images), video_path)


@dataclass(frozen=True)
class ImageScore:
    """One image: people annotated / found, placed joints, PCK, and per-joint errors (% of height)."""

    name: str
    people: int
    matched: int
    joints: int
    pck: float
    error_pct_by_joint: dict[str, float]


@dataclass(frozen=True)
class RealReport:
    images: list[ImageScore]
    joints: int
    pck: float
    pck_by_joint: dict[str, float]
    fraction: float = PCK_FRACTION


def score_image(image: AnnotatedImage, estimates: np.ndarray, fraction: float = PCK_FRACTION,
                ) -> tuple[ImageScore, np.ndarray]:
    """Score (N, 13, 2) estimated keypoints against one image's people; also returns the (people, 13) errors as
    fractions of each person's height (NaN: not placed; inf: nobody estimated for that person)."""
    truth = np.stack([p.keypoints for p in image.people]) if image.people else np.zeros((0, len(MAIN_JOINTS), 2))
    visible = np.stack([p.visible for p in image.people]) if image.people else np.zeros((0, len(MAIN_JOINTS)), bool)
    heights = [p.height_px for p in image.people]
    relative = np.where(visible, np.inf, np.nan)
    matches = match_people(estimates, truth, heights, visible, fraction=np.inf)
    for m in matches:
        errors = keypoint_errors(estimates[m.estimate], truth[m.person], visible[m.person])
        relative[m.person] = errors / heights[m.person]
    placed = np.isfinite(relative) | np.isinf(relative)
    correct = (relative < fraction) & placed
    by_joint = {name: round(100.0 * float(np.nanmean(np.where(np.isinf(relative[:, j]), np.nan, relative[:, j]))), 1)
                for j, name in enumerate(MAIN_JOINTS) if np.isfinite(relative[:, j]).any()}
    joints = int(placed.sum())
    score = ImageScore(image.name, len(image.people), len(matches), joints,
                       float(correct.sum() / joints) if joints else float("nan"), by_joint)
    return score, relative


def evaluate(path: Path, config: AppConfig, max_people: int = 1, fraction: float = PCK_FRACTION) -> RealReport:
    """Run the default estimator's pipeline on the annotated images (each photo on its own, as a one-frame
    input; a video once, all its frames) and score PCK@`fraction` of height on the 13 main joints."""
    annotations = load_annotations(path)
    skeleton = drawn_skeleton(config)  # the skeleton the estimator fits
    if annotations.video is not None:
        from mocap_app.capture import open_source

        outputs = {o.index: o.raw for o in run_frames(open_source(annotations.video, config.capture), config,
                                                       max_people)}
        estimates = [estimate_keypoints(outputs.get(image.frame, []), skeleton) for image in annotations.images]
    else:
        estimates = []
        for image in annotations.images:
            bgr = cv2.imread(str(image.file), cv2.IMREAD_COLOR)
            if bgr is None:
                raise AnnotationError(f"Image {image.file} cannot be decoded.", "Replace the file.")
            runs = run_frames(ArraySource([bgr[..., ::-1]], name=image.name), config, max_people)
            estimates.append(estimate_keypoints(runs[0].raw if runs else [], skeleton))
    scores, relatives = [], []
    for image, found in zip(annotations.images, estimates, strict=True):
        score, relative = score_image(image, found, fraction)
        scores.append(score)
        relatives.append(relative)
    relative = np.concatenate(relatives) if relatives else np.zeros((0, len(MAIN_JOINTS)))
    placed = ~np.isnan(relative)
    by_joint = {name: round(float((relative[placed[:, j], j] < fraction).mean()), 3)
                for j, name in enumerate(MAIN_JOINTS) if placed[:, j].any()}
    joints = int(placed.sum())
    total = float((relative[placed] < fraction).mean()) if joints else float("nan")
    return RealReport(scores, joints, total, by_joint, fraction)
