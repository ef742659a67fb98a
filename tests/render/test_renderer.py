from __future__ import annotations

import sys

import cv2
import numpy as np
import pytest

from mocap_app.core.errors import ConfigError, DependencyError
from mocap_app.core.frames import CameraIntrinsics
from mocap_app.core.mesh import BodyMesh
from mocap_app.core.params import SmplxParams
from mocap_app.core.skeleton import JOINT_INDEX
from mocap_app.render import OrbitView, RenderThread, select_platform
from mocap_app.render.geometry import vertex_normals

# Deliberately not the default camera: unequal focal lengths, principal point off centre.
CAMERA = CameraIntrinsics(fx=610.0, fy=570.0, cx=301.3, cy=262.7, width=640, height=480)


@pytest.fixture(scope="module")
def renderer():
    with RenderThread("egl", 640, 480) as thread:
        yield thread


def posed_params(track_id: int = 0, x: float = 0.1) -> SmplxParams:
    body_pose = np.zeros((21, 3))
    body_pose[JOINT_INDEX["left_shoulder"] - 1] = (0.0, 0.0, -0.9)
    body_pose[JOINT_INDEX["right_elbow"] - 1] = (0.0, 1.3, 0.0)
    body_pose[JOINT_INDEX["left_knee"] - 1] = (0.6, 0.0, 0.0)
    # Rotated 180 degrees about x: upright in the camera frame (y down), facing the camera; turned a little.
    return SmplxParams.neutral(CAMERA, global_orient=(np.pi * 0.97, 0.3, 0.0), body_pose=body_pose,
                               transl=(x, 0.15, 3.2), track_id=track_id)


def project(points: np.ndarray, camera: CameraIntrinsics) -> np.ndarray:
    """Pinhole projection, pixel coordinates measured from the top-left pixel corner."""
    return np.stack([camera.fx * points[:, 0] / points[:, 2] + camera.cx,
                     camera.fy * points[:, 1] / points[:, 2] + camera.cy], axis=1)


def projected_mask(mesh: BodyMesh, camera: CameraIntrinsics) -> np.ndarray:
    """Rasterise every projected triangle (cv2 puts pixel centres at integers, hence the -0.5)."""
    shift = 4
    uv = np.round((project(mesh.vertices.astype(np.float64), camera) - 0.5) * (1 << shift)).astype(np.int32)
    mask = np.zeros((camera.height, camera.width), np.uint8)
    for triangle in uv[mesh.faces]:
        cv2.fillConvexPoly(mask, triangle, 1, lineType=cv2.LINE_8, shift=shift)
    return mask.astype(bool)


def test_overlay_silhouette_matches_the_projected_mesh(renderer: RenderThread, smplx_model) -> None:
    mesh = smplx_model.meshes(posed_params())[0]
    image = renderer.overlay([mesh], CAMERA, background=None, opacity=1.0)
    assert image.shape == (480, 640, 3) and image.dtype == np.uint8
    rendered = image.any(axis=2)
    expected = projected_mask(mesh, CAMERA)
    iou = (rendered & expected).sum() / (rendered | expected).sum()
    assert expected.sum() > 5000  # the body covers a real part of the frame
    assert iou >= 0.95, iou


def marker(centre: np.ndarray, radius: float = 0.012) -> BodyMesh:
    """A small closed sphere around `centre` (an icosahedron subdivided once)."""
    t = (1 + 5 ** 0.5) / 2
    verts = np.array([(-1, t, 0), (1, t, 0), (-1, -t, 0), (1, -t, 0), (0, -1, t), (0, 1, t), (0, -1, -t),
                      (0, 1, -t), (t, 0, -1), (t, 0, 1), (-t, 0, -1), (-t, 0, 1)], float)
    faces = np.array([(0, 11, 5), (0, 5, 1), (0, 1, 7), (0, 7, 10), (0, 10, 11), (1, 5, 9), (5, 11, 4),
                      (11, 10, 2), (10, 7, 6), (7, 1, 8), (3, 9, 4), (3, 4, 2), (3, 2, 6), (3, 6, 8),
                      (3, 8, 9), (4, 9, 5), (2, 4, 11), (6, 2, 10), (8, 6, 7), (9, 8, 1)])
    verts /= np.linalg.norm(verts, axis=1, keepdims=True)
    return BodyMesh(centre + radius * verts, faces)


@pytest.mark.parametrize("joint", ["pelvis", "head", "left_wrist", "right_wrist", "left_ankle", "right_elbow",
                                   "left_index3", "right_foot"])
def test_joint_markers_land_on_the_pinhole_projection(renderer: RenderThread, smplx_model, joint: str) -> None:
    joints = smplx_model.forward(posed_params()).joints[0]
    centre = joints[JOINT_INDEX[joint]].astype(np.float64)
    image = renderer.overlay([marker(centre)], CAMERA, background=None, opacity=1.0)
    coverage = image.max(axis=2).astype(np.float64)
    assert coverage.sum() > 0, f"{joint} marker not visible"
    rows, cols = np.mgrid[0 : CAMERA.height, 0 : CAMERA.width]
    # Centroid of the marker's pixels; pixel (r, c) covers [c, c + 1) x [r, r + 1), centre at +0.5.
    weights = (coverage > 0).astype(np.float64)
    found = np.array([(weights * (cols + 0.5)).sum(), (weights * (rows + 0.5)).sum()]) / weights.sum()
    expected = project(centre[None], CAMERA)[0]
    assert np.linalg.norm(found - expected) <= 1.0, (found, expected)


def test_overlay_blends_over_the_camera_image(renderer: RenderThread, smplx_model) -> None:
    background = np.zeros((480, 640, 3), np.uint8)
    background[:, :, 1] = 200
    mesh = smplx_model.meshes(posed_params())[0]
    image = renderer.overlay([mesh], CAMERA, background, opacity=0.5)
    covered = projected_mask(mesh, CAMERA)
    inside = cv2.erode(covered.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    assert (image[~cv2.dilate(covered.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)]
            == (0, 200, 0)).all()
    assert image[inside][:, 0].mean() > 30 and image[inside][:, 1].mean() > 90  # half mesh, half image
    with pytest.raises(ValueError, match="background must be"):
        renderer.overlay([mesh], CAMERA, np.zeros((10, 10, 3), np.uint8))


def test_orbit_view_shows_the_body_on_a_floor_grid(renderer: RenderThread, smplx_model) -> None:
    mesh = smplx_model.meshes(posed_params())[0]
    front = renderer.orbit([mesh], OrbitView(azimuth_deg=0.0, elevation_deg=20.0, distance_m=3.0))
    side = renderer.orbit([mesh], OrbitView(azimuth_deg=90.0, elevation_deg=20.0, distance_m=3.0))
    empty = renderer.orbit([], OrbitView(azimuth_deg=0.0, elevation_deg=20.0, distance_m=3.0))
    assert front.shape == (480, 640, 3) and front.dtype == np.uint8
    background = empty[0, 0]
    assert (front[0] == background).all()  # the top row is sky
    grid = (np.abs(empty.astype(int) - background).sum(axis=2) > 60)
    assert grid[240:].mean() > 0.02 and grid[:120].mean() == 0  # lines below the horizon only
    body = np.abs(front.astype(int) - empty).sum(axis=2) > 60
    cols = np.nonzero(body)[1]
    assert body.mean() > 0.03 and abs(cols.mean() - 320) < 60  # centred on the pelvis
    assert np.abs(front.astype(int) - side).mean() > 3  # the camera really moved


def test_reused_buffers_show_the_new_pose_and_hide_people_who_left(renderer: RenderThread, smplx_model) -> None:
    first, second = smplx_model.meshes([posed_params(0, x=-0.5), posed_params(1, x=0.6)])
    moved = smplx_model.meshes(SmplxParams.neutral(CAMERA, global_orient=(np.pi, 0, 0), transl=(0.2, 0.1, 2.8)))[0]
    renderer.overlay([marker(np.array([0.0, 0.0, 3.0]))], CAMERA)  # another topology: the next call rebuilds
    rebuilt = renderer.overlay([moved], CAMERA)
    renderer.overlay([first, second], CAMERA)
    reused = renderer.overlay([moved], CAMERA)  # slot 0 rewritten in place, slot 1 hidden
    assert rebuilt.any()
    np.testing.assert_array_equal(reused, rebuilt)


def test_only_one_render_thread_runs_at_a_time(renderer: RenderThread) -> None:
    with pytest.raises(RuntimeError, match="another RenderThread is running"):
        RenderThread("egl").start()


def test_vertex_normals_point_out_of_a_closed_sphere() -> None:
    sphere = marker(np.array([1.0, 2.0, 3.0]), radius=1.0)
    normals = vertex_normals(sphere.vertices, sphere.faces)
    outward = sphere.vertices - (1.0, 2.0, 3.0)
    np.testing.assert_allclose(normals, outward / np.linalg.norm(outward, axis=1, keepdims=True), atol=0.05)


def test_errors_inside_the_render_thread_reach_the_caller_and_it_keeps_serving(renderer: RenderThread) -> None:
    with pytest.raises(ValueError, match="background must be"):
        renderer.overlay([], CAMERA, np.zeros((2, 2, 3), np.uint8))
    assert renderer.overlay([], CAMERA).shape == (480, 640, 3)


def test_unstarted_thread_refuses_requests() -> None:
    with pytest.raises(RuntimeError, match="not running"):
        RenderThread("egl").overlay([], CAMERA)


def test_renderer_creation_failure_becomes_a_dependency_error(renderer: RenderThread,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from mocap_app.render import offscreen

    renderer.close()  # one at a time; the module fixture's close() after this is a no-op

    def broken(self, *args: object) -> None:
        raise RuntimeError("eglInitialize failed")

    monkeypatch.setattr(offscreen.MeshRenderer, "__init__", broken)
    with pytest.raises(DependencyError, match="eglInitialize failed") as info:
        RenderThread("egl").start()
    assert "doctor" in info.value.hint


def test_select_platform_validates_and_refuses_to_switch_after_opengl_loaded(monkeypatch) -> None:
    with pytest.raises(ConfigError, match="render.platform"):
        select_platform("vulkan")
    import OpenGL.platform  # noqa: F401  (bound to egl by tests/conftest.py)

    assert "OpenGL.platform" in sys.modules
    select_platform("egl")  # the same platform again is fine
    with pytest.raises(DependencyError, match="cannot switch to osmesa"):
        select_platform("osmesa")


def _quad(tilt_deg: float, x: float = 0.0) -> BodyMesh:
    """A 0.6 m square 2 m in front of the camera, turned `tilt_deg` about the vertical axis, facing the camera
    at 0 (counter-clockwise seen from the camera in the OpenCV frame: y down)."""
    t = np.radians(tilt_deg)
    corners = np.array([(-0.3, -0.3), (0.3, -0.3), (0.3, 0.3), (-0.3, 0.3)])
    vertices = np.stack([x + corners[:, 0] * np.cos(t), corners[:, 1], 2.0 + corners[:, 0] * np.sin(t)], 1)
    return BodyMesh(vertices, np.array([[0, 2, 1], [0, 3, 2]]), track_id=0)


def test_vertex_lighting_shades_by_the_headlight_and_follows_moving_meshes(renderer: RenderThread) -> None:
    from mocap_app.render.geometry import track_color
    from mocap_app.render.offscreen import VERTEX_AMBIENT

    renderer.close()  # one renderer per process; the module fixture's close() after this is a no-op
    camera = CameraIntrinsics.from_fov(320, 240)
    color = 255 * track_color(0)
    with RenderThread("egl", 320, 240, vertex_lighting=True) as lit:
        shades = []
        for tilt, x in ((0.0, 0.0), (60.0, 0.0), (0.0, 0.25)):  # one slot: its buffer rewritten each time
            layer = lit.submit_layer([_quad(tilt, x)], camera, 1.0).result().straight_rgba()
            covered = layer[:, :, 3] == 255
            assert covered.sum() > 2000
            shades.append(layer[covered][:, :3].mean(axis=0) / color)
            if tilt == 0.0:  # moved, not left where the first draw put it
                centre_x = np.nonzero(covered)[1].mean()
                assert abs(centre_x - camera.project(np.array([[x, 0.0, 2.0]]))[0, 0]) < 1.0
        # Facing the light: the full colour; turned 60 degrees: ambient + (1 - ambient) cos 60; 1/255 rounding.
        np.testing.assert_allclose(shades[0], 1.0, atol=0.01)
        np.testing.assert_allclose(shades[1], VERTEX_AMBIENT + (1 - VERTEX_AMBIENT) * 0.5, atol=0.01)
        np.testing.assert_allclose(shades[2], 1.0, atol=0.01)
        # The 3-D view lights from its own camera: seen 60 degrees from the side, the quad is shaded as turned.
        side = lit.orbit([_quad(0.0)], OrbitView(azimuth_deg=60.0, elevation_deg=0.0, distance_m=2.0))
        np.testing.assert_allclose(side[120, 160] / color, VERTEX_AMBIENT + (1 - VERTEX_AMBIENT) * 0.5, atol=0.01)
