"""pyrender offscreen drawing of body meshes: over the camera image, and in a 3D orbit view.

`MeshRenderer` owns an OpenGL context, which belongs to the thread that created it: create, use
and close it on one thread (`RenderThread` does). Importing this module imports OpenGL, so call
`platform.select_platform` first.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mocap_app.core.frames import CameraIntrinsics
from mocap_app.core.mesh import BodyMesh

from .geometry import (
    GRID_SPACING_M,
    OPENCV_CAMERA_POSE,
    OrbitView,
    grid_lines,
    orbit_camera_pose,
    track_color,
    vertex_normals,
)
from .layer import PeopleLayer, drawn_box

if not hasattr(np, "infty"):
    np.infty = np.inf  # pyrender 0.1.45 uses the alias numpy 2 removed (Mesh.bounds, scene.scale)

# PyOpenGL logs at INFO on every start that its optional C accelerator is absent.
logging.getLogger("OpenGL.acceleratesupport").setLevel(logging.WARNING)

import pyrender  # noqa: E402  (after the alias above)
import pyrender.renderer  # noqa: E402
from OpenGL.GL import (  # noqa: E402
    GL_ARRAY_BUFFER,
    GL_COLOR_BUFFER_BIT,
    GL_DRAW_FRAMEBUFFER,
    GL_LINEAR,
    GL_READ_FRAMEBUFFER,
    GL_RGB,
    GL_RGBA,
    GL_UNSIGNED_BYTE,
    glBindBuffer,
    glBindFramebuffer,
    glBlitFramebuffer,
    glBufferSubData,
    glReadPixels,
    glRenderbufferStorageMultisample,
)

logger = logging.getLogger(__name__)

Z_NEAR_M, Z_FAR_M = 0.05, 100.0
VERTEX_AMBIENT = 0.35  # share of a vertex-lit body's colour that faces away from the light keep

# pyrender renders offscreen (EGL) into a framebuffer with a fixed 4x multisampling, which doubles the
# cost of a frame on a software rasteriser (640x480 avatar overlay, llvmpipe: 31.8 ms at 4x, 14.9 ms
# without). It allocates those buffers through this one GL call, so the sample count is set there.
_msaa_samples = 0


def _storage_multisample(target: int, _samples: int, internal_format: int, width: int, height: int) -> None:
    glRenderbufferStorageMultisample(target, _msaa_samples, internal_format, width, height)


pyrender.renderer.glRenderbufferStorageMultisample = _storage_multisample


def _read_colour(renderer: pyrender.Renderer, flags: int) -> tuple[np.ndarray, None]:
    """pyrender's read-back of an offscreen (EGL) frame without the depth buffer, which none of these views use:
    reading and linearising it took ~2.5 of a 640x480 layer's 8.6 ms (llvmpipe). (h, w, 3 or 4) uint8, no depth."""
    width, height = renderer._main_fb_dims
    glBindFramebuffer(GL_READ_FRAMEBUFFER, renderer._main_fb_ms)
    glBindFramebuffer(GL_DRAW_FRAMEBUFFER, renderer._main_fb)
    glBlitFramebuffer(0, 0, width, height, 0, 0, width, height, GL_COLOR_BUFFER_BIT, GL_LINEAR)
    glBindFramebuffer(GL_READ_FRAMEBUFFER, renderer._main_fb)
    channels, layout = (4, GL_RGBA) if flags & pyrender.RenderFlags.RGBA else (3, GL_RGB)
    pixels = np.frombuffer(glReadPixels(0, 0, width, height, layout, GL_UNSIGNED_BYTE), np.uint8)
    return np.flip(pixels.reshape(height, width, channels), axis=0), None
ORBIT_BACKGROUND = (0.16, 0.17, 0.20)
GRID_COLOR = (0.55, 0.57, 0.62)


@dataclass
class _MeshSlot:
    """One person's mesh in the scene, kept between frames so its GPU buffer can be rewritten in place."""

    node: pyrender.Node
    primitive: pyrender.Primitive
    faces: np.ndarray
    vertices: np.ndarray
    normals: np.ndarray
    uploaded: bool = False


class MeshRenderer:
    """Draws `BodyMesh`es offscreen; every image is (h, w, 3) uint8 RGB. One thread only (see module doc).

    Meshes are in the input camera's frame (OpenCV axes, metres). Vertex buffers are reused from
    frame to frame while a slot's topology stays the same: only positions and normals are re-sent.
    """

    def __init__(self, width: int = 640, height: int = 480, msaa_samples: int = 0,
                 vertex_lighting: bool = False) -> None:
        """msaa_samples: multisample antialiasing (0 = off, fastest; 4 = smooth edges, ~2x slower on CPUs).
        vertex_lighting: light the bodies per vertex (diffuse headlight, computed here) and draw them with
        pyrender's flat shader instead of its per-pixel PBR one: on a software rasteriser the PBR fragment
        shader is half the cost of a frame (640x480 avatar, llvmpipe: 14.4 -> 7.5 ms); matte instead of glossy."""
        global _msaa_samples
        _msaa_samples = msaa_samples  # one renderer per process (see RenderThread)
        self.vertex_lighting = vertex_lighting
        self._renderer = pyrender.OffscreenRenderer(width, height)
        gl_renderer = self._renderer._renderer  # framebuffer platforms (EGL) read back through this
        gl_renderer._read_main_framebuffer = lambda scene, flags: _read_colour(gl_renderer, flags)
        self._scene = pyrender.Scene(bg_color=(0.0, 0.0, 0.0, 0.0), ambient_light=(0.35, 0.35, 0.35))
        self._input_camera = pyrender.IntrinsicsCamera(fx=500.0, fy=500.0, cx=320.0, cy=240.0,
                                                       znear=Z_NEAR_M, zfar=Z_FAR_M)
        self._input_camera_node = self._scene.add(self._input_camera, pose=OPENCV_CAMERA_POSE)
        self._orbit_camera = pyrender.PerspectiveCamera(yfov=np.radians(45.0), znear=Z_NEAR_M, zfar=Z_FAR_M)
        self._orbit_camera_node = self._scene.add(self._orbit_camera)
        self._light_node = self._scene.add(pyrender.DirectionalLight(color=np.ones(3), intensity=3.0))
        grid = pyrender.Primitive(positions=grid_lines(), mode=1,  # 1 = GL_LINES
                                  material=pyrender.MetallicRoughnessMaterial(baseColorFactor=(*GRID_COLOR, 1.0)))
        self._grid_mesh = pyrender.Mesh([grid], is_visible=False)
        self._grid_node = self._scene.add(self._grid_mesh)
        self._slots: list[_MeshSlot] = []
        self._shown: tuple[int, ...] | None = None  # ids of the meshes in the buffers (see _set_meshes)
        self._shown_meshes: tuple[BodyMesh, ...] = ()
        # The orbit view keeps its last target and floor when nobody is in view.
        self._orbit_target = np.array([0.0, 0.0, 3.0])
        self._floor_y = 0.9

    def close(self) -> None:
        """Free the GL context and every buffer; call on the thread that created the renderer."""
        self._renderer.delete()

    # --- meshes -------------------------------------------------------------------------------

    def _new_slot(self, mesh: BodyMesh, normals: np.ndarray) -> _MeshSlot:
        color = mesh.color or track_color(mesh.track_id)
        material = pyrender.MetallicRoughnessMaterial(baseColorFactor=(*color, 1.0), metallicFactor=0.0,
                                                      roughnessFactor=0.7)
        if self.vertex_lighting:  # the shade per vertex: (V, 4) grey, times the colour in the flat shader
            primitive = pyrender.Primitive(positions=mesh.vertices, color_0=np.ones((len(mesh.vertices), 4)),
                                           indices=mesh.faces, material=material)
        else:
            primitive = pyrender.Primitive(positions=mesh.vertices, normals=normals, indices=mesh.faces,
                                           material=material)
        return _MeshSlot(self._scene.add(pyrender.Mesh([primitive])), primitive, mesh.faces, mesh.vertices, normals)

    def _set_meshes(self, meshes: Sequence[BodyMesh]) -> None:
        """Show exactly `meshes`: rewrite the vertex buffers of slots with the same faces, rebuild others. The
        same meshes again (the camera layer and the 3-D view of one frame) are on the GPU already: BodyMesh
        arrays are read-only, so the same objects hold the same vertices."""
        shown = tuple(id(mesh) for mesh in meshes)
        if shown == self._shown and all(slot.uploaded for slot in self._slots[:len(meshes)]):
            return
        self._shown, self._shown_meshes = shown, tuple(meshes)  # kept alive: ids stay theirs
        for i, mesh in enumerate(meshes):
            normals = vertex_normals(mesh.vertices, mesh.faces)
            slot = self._slots[i] if i < len(self._slots) else None
            same_topology = slot is not None and (slot.faces is mesh.faces or (
                slot.faces.shape == mesh.faces.shape and np.array_equal(slot.faces, mesh.faces)))
            if slot is not None and same_topology and slot.uploaded:
                slot.vertices, slot.normals = mesh.vertices, normals
                if not self.vertex_lighting:  # vertex-lit buffers are written per view, in _draw
                    self._write_buffer(slot, normals)
            else:
                if slot is not None:
                    self._scene.remove_node(slot.node)  # the renderer frees its buffers on the next draw
                slot = self._new_slot(mesh, normals)
                if i < len(self._slots):
                    self._slots[i] = slot
                else:
                    self._slots.append(slot)
            slot.node.mesh.is_visible = True
            slot.primitive.material.baseColorFactor = (*(mesh.color or track_color(mesh.track_id)), 1.0)
        for slot in self._slots[len(meshes):]:
            slot.node.mesh.is_visible = False

    def _write_buffer(self, slot: _MeshSlot, attribute: np.ndarray) -> None:
        """Rewrite an uploaded slot's interleaved float32 (position, `attribute`) vertices: pyrender's layout
        for a primitive with positions and one more attribute (normals, or vertex colours)."""
        data = np.ascontiguousarray(np.hstack([slot.vertices, attribute]), dtype=np.float32)
        self._renderer._platform.make_current()  # the context is current on this thread already
        glBindBuffer(GL_ARRAY_BUFFER, slot.primitive._buffers[0])
        glBufferSubData(GL_ARRAY_BUFFER, 0, data.nbytes, data)

    def _light_vertices(self, camera_pose: np.ndarray) -> None:
        """Vertex-lit slots: the diffuse headlight's shade of every vertex for a camera at `camera_pose`."""
        towards_camera = camera_pose[:3, 2]  # an OpenGL camera looks down its -z
        for slot in self._slots:
            if not slot.node.mesh.is_visible:
                continue
            shade = np.empty((len(slot.vertices), 4), np.float32)
            shade[:, :3] = (VERTEX_AMBIENT + (1.0 - VERTEX_AMBIENT) * np.clip(
                slot.normals @ towards_camera.astype(np.float32), 0.0, 1.0))[:, None]
            shade[:, 3] = 1.0
            if slot.uploaded:
                self._write_buffer(slot, shade)
            else:
                slot.primitive.color_0 = shade  # sent with the primitive on its first draw

    def _draw(self, camera_node: pyrender.Node, width: int, height: int, flags: int) -> tuple[np.ndarray, np.ndarray]:
        """(h, w, 3 or 4) uint8 colour and (h, w) float32 depth (0 = nothing drawn) or, offscreen (EGL), None."""
        self._scene.main_camera_node = camera_node
        camera_pose = self._scene.get_pose(camera_node)
        self._scene.set_pose(self._light_node, camera_pose)  # headlight
        if self.vertex_lighting:
            self._light_vertices(camera_pose)
            flags |= pyrender.RenderFlags.FLAT
        self._renderer.viewport_width, self._renderer.viewport_height = width, height
        color, depth = self._renderer.render(self._scene, flags=flags)
        for slot in self._slots:
            slot.uploaded = True
        return color, depth

    # --- views --------------------------------------------------------------------------------

    def _through_input_camera(self, meshes: Sequence[BodyMesh], camera: CameraIntrinsics,
                              ) -> tuple[np.ndarray, np.ndarray]:
        """The meshes seen through the input camera: (h, w, 3+) uint8 colour and (h, w) uint8 coverage."""
        self._set_meshes(meshes)
        self._grid_mesh.is_visible = False
        cam = self._input_camera
        cam.fx, cam.fy, cam.cx, cam.cy = camera.fx, camera.fy, camera.cx, camera.cy
        color, depth = self._draw(self._input_camera_node, camera.width, camera.height, pyrender.RenderFlags.RGBA)
        # EGL renders with 4x MSAA and returns alpha (smooth edges); OSMesa has no RGBA read-back in
        # pyrender, so the mask comes from depth there.
        coverage = color[:, :, 3] if color.shape[2] == 4 else (depth > 0).astype(np.uint8) * 255
        return color, coverage

    def overlay(self, meshes: Sequence[BodyMesh], camera: CameraIntrinsics, background: np.ndarray | None = None,
                opacity: float = 0.85) -> np.ndarray:
        """The meshes seen through the input camera, drawn over `background`.

        camera: the intrinsics the meshes were estimated with; the image is camera.height x camera.width.
        background: (h, w, 3) uint8 RGB camera image of that size, or None for black.
        opacity: how much the mesh hides the image, 0..1.
        Returns (h, w, 3) uint8 RGB.
        """
        width, height = camera.width, camera.height
        if background is not None and background.shape != (height, width, 3):
            raise ValueError(f"background must be ({height}, {width}, 3) like the camera, got {background.shape}")
        color, coverage = self._through_input_camera(meshes, camera)
        out = np.zeros((height, width, 3), np.uint8) if background is None else background.copy()
        # Blend only inside the meshes' bounding box: most of the frame is untouched background.
        box = drawn_box(coverage)
        if box is not None:
            alpha = coverage[box][:, :, None].astype(np.float32) * (opacity / 255.0)
            under = out[box].astype(np.float32)
            out[box] = (under + alpha * (color[box][:, :, :3] - under) + 0.5).astype(np.uint8)
        return out

    def layer(self, meshes: Sequence[BodyMesh], camera: CameraIntrinsics, opacity: float = 0.85) -> PeopleLayer | None:
        """The meshes seen through the input camera, cut to where they are drawn (alpha = coverage x `opacity`),
        for a viewer that lays it over newer frames; None when no mesh is in view."""
        color, coverage = self._through_input_camera(meshes, camera)
        return PeopleLayer.cut(color, coverage, opacity)

    def orbit(self, meshes: Sequence[BodyMesh], view: OrbitView, width: int, height: int) -> np.ndarray:
        """The meshes from a camera orbiting their mean pelvis, standing on a floor grid.

        The floor is level for a level input camera, under the lowest vertex. Returns (height, width, 3)
        uint8 RGB.
        """
        self._set_meshes(meshes)
        if meshes:
            centres = [m.joints[0] if m.joints is not None else m.vertices.mean(axis=0) for m in meshes]
            self._orbit_target = np.mean(centres, axis=0).astype(float)
            self._floor_y = float(max(m.vertices[:, 1].max() for m in meshes))
        # Snap the grid to its spacing so people walk over it rather than carrying it along.
        grid_pose = np.eye(4)
        grid_pose[:3, 3] = (np.round(self._orbit_target[0] / GRID_SPACING_M) * GRID_SPACING_M, self._floor_y,
                            np.round(self._orbit_target[2] / GRID_SPACING_M) * GRID_SPACING_M)
        self._scene.set_pose(self._grid_node, grid_pose)
        self._grid_mesh.is_visible = True
        self._orbit_camera.yfov = np.radians(view.fov_deg)
        self._orbit_camera.aspectRatio = width / height
        self._scene.set_pose(self._orbit_camera_node, orbit_camera_pose(view, self._orbit_target))
        self._scene.bg_color = np.array([*ORBIT_BACKGROUND, 1.0])
        try:
            return self._draw(self._orbit_camera_node, width, height, pyrender.RenderFlags.NONE)[0]
        finally:
            self._scene.bg_color = np.zeros(4)
