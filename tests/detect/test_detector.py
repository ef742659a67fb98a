"""BlazePoseDetector on avatar renders with known silhouettes, composites of several people, a real photo
and empty images. See tests/data/detect/README.md for where the images come from."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from mocap_app.core.errors import ConfigError
from mocap_app.core.frames import Frame
from mocap_app.detect import BlazePoseDetector, DetectorConfig, PoseKeypoints, body_box, iou_matrix

DATA = Path(__file__).resolve().parents[1] / "data" / "detect"
AVATARS = ("avatar_000", "avatar_015", "avatar_090")  # standing, arms raised, half squat with arms out


def rgb(name: str) -> np.ndarray:
    return np.ascontiguousarray(cv2.imread(str(DATA / name))[..., ::-1])


def silhouette(name: str) -> np.ndarray:
    """(H, W) bool: the avatar's pixels in a render."""
    return cv2.imread(str(DATA / f"{name}_mask.png"), cv2.IMREAD_GRAYSCALE) > 0


def mask_box(mask: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(mask)
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], np.float64)


def coverage(box: np.ndarray, mask: np.ndarray) -> float:
    """Fraction of the silhouette's pixels inside `box`."""
    x0, y0, x1, y1 = np.round(box).astype(int)
    return float(mask[max(y0, 0):y1, max(x0, 0):x1].sum() / mask.sum())


def crowd(names: tuple[str, ...], shifts_px: tuple[int, ...], scale: float) -> tuple[np.ndarray, list[np.ndarray]]:
    """Avatars cut out of their renders by their silhouettes, scaled about the floor point below the image
    centre and shifted sideways, pasted left to right over the empty room → image and silhouettes."""
    image = rgb("room.jpg")
    masks = []
    for name, shift in zip(names, shifts_px, strict=True):
        warp = np.array([[scale, 0.0, (1 - scale) * 320 + shift], [0.0, scale, (1 - scale) * 470]], np.float32)
        pixels = cv2.warpAffine(rgb(f"{name}.jpg"), warp, (640, 480))
        mask = cv2.warpAffine(silhouette(name).astype(np.uint8), warp, (640, 480)) > 0
        image[mask] = pixels[mask]
        masks.append(mask)
    return image, masks


@pytest.fixture(scope="module")
def detector():
    with BlazePoseDetector() as det:
        yield det


def assert_finds(detections: list, masks: list[np.ndarray]) -> None:
    """One detection per person, each a full-body box: most of its silhouette inside, IoU with its box >= 0.45."""
    assert len(detections) == len(masks)
    truth = np.array([mask_box(m) for m in masks])
    iou = iou_matrix(np.array([d.box for d in detections]), truth)
    rows, cols = linear_sum_assignment(-iou)
    for r, c in zip(rows, cols, strict=True):
        assert iou[r, c] >= 0.45, iou
        assert coverage(detections[r].box, masks[c]) >= 0.95
        assert 0.5 <= detections[r].score <= 1.0


@pytest.mark.parametrize("name", AVATARS)
def test_finds_the_avatar_with_a_full_body_box(detector: BlazePoseDetector, name: str) -> None:
    image = rgb(f"{name}.jpg")
    found = detector.detect(Frame(np.ascontiguousarray(image[..., ::-1]), 0, 0))
    assert_finds(found, [silhouette(name)])


def test_finds_a_mirrored_avatar(detector: BlazePoseDetector) -> None:
    assert_finds(detector.detect_rgb(rgb("avatar_015.jpg")[:, ::-1]), [silhouette("avatar_015")[:, ::-1]])


def test_finds_two_people_side_by_side(detector: BlazePoseDetector) -> None:
    image, masks = crowd(("avatar_000", "avatar_090"), (-150, 150), 1.0)
    assert_finds(detector.detect_rgb(image), masks)


def test_finds_three_people_a_little_farther_away(detector: BlazePoseDetector) -> None:
    """~290 px tall: in one pass the model reports only one of them; the search finds the others."""
    image, masks = crowd(("avatar_000", "avatar_015", "avatar_090"), (-200, 0, 200), 0.8)
    assert_finds(detector.detect_rgb(image), masks)


def test_max_people_stops_the_search(detector: BlazePoseDetector) -> None:
    image, _ = crowd(("avatar_000", "avatar_090"), (-150, 150), 1.0)
    with BlazePoseDetector(DetectorConfig(max_people=1)) as single:
        found = single.detect_rgb(image)
    assert len(found) == 1
    assert found[0].score == max(d.score for d in detector.detect_rgb(image))


@pytest.mark.parametrize("kind", ["room", "grey", "noise"])
def test_finds_nobody_in_empty_images(detector: BlazePoseDetector, kind: str) -> None:
    images = {
        "room": rgb("room.jpg"),
        "grey": np.full((480, 640, 3), 128, np.uint8),
        "noise": np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8),
    }
    assert detector.detect_rgb(images[kind]) == []


def test_real_photo_upper_body_gets_a_box_down_to_the_image_edge(detector: BlazePoseDetector) -> None:
    """skimage's astronaut (a real photo, head and shoulders): the body continues below the frame, so the
    clipped box reaches the bottom edge and contains the face."""
    image = rgb("astronaut.jpg")
    found = detector.detect_rgb(image)
    assert len(found) == 1
    x0, y0, x1, y1 = found[0].box
    face = (180, 60, 265, 165)  # her face (brow to chin), read off the 512x512 photo by eye
    assert x0 <= face[0] and y0 <= face[1] and face[2] <= x1 and face[3] <= y1
    assert y1 == image.shape[0]


def test_the_callers_image_is_left_untouched(detector: BlazePoseDetector) -> None:
    image, _ = crowd(("avatar_000", "avatar_090"), (-150, 150), 1.0)
    frame = Frame(np.ascontiguousarray(image[..., ::-1]), 0, 0)
    before = frame.rgb.copy()
    assert len(detector.detect(frame)) == 2
    assert np.array_equal(frame.rgb, before)


def test_body_box_follows_the_body_axis() -> None:
    face = np.array([95.0, 0.0, 105.0, 10.0])
    upright = body_box(PoseKeypoints(0.9, face, np.array([100.0, 200.0]), np.array([100.0, 100.0])),
                       head_extent=1.0, feet_extent=1.1, half_width=0.5)
    np.testing.assert_allclose(upright, [50.0, 0.0, 150.0, 310.0])  # up to the face, 110 px below the hip
    lying = body_box(PoseKeypoints(0.9, face + 200.0, np.array([200.0, 200.0]),
                                   np.array([300.0, 200.0])), head_extent=1.0, feet_extent=1.1, half_width=0.5)
    np.testing.assert_allclose(lying, [90.0, 150.0, 305.0, 250.0])  # wide, and the face box (295..305) joined


def test_bad_settings_raise_config_error() -> None:
    with pytest.raises(ConfigError, match="max_people"):
        DetectorConfig(max_people=0)
    with pytest.raises(ConfigError, match="min_score"):
        DetectorConfig(min_score=1.5)
