"""A body drawn with fewer triangles, for live previews.

A software rasteriser (llvmpipe: machines without a GPU driver) pays per vertex and per triangle; the default
avatar has 13,718 vertices and 27,420 faces, several times what a 640x480 preview can show. The mesh is
decimated once, by quadric edge collapse (fast-simplification), on the first posed mesh of each topology; every
later mesh is posed in full by its body model and each kept vertex placed at the mean of the vertices that
collapsed into it, so the reduced mesh follows the full one exactly, fingers and face included.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mocap_app.core.mesh import BodyMesh, MeshSource
from mocap_app.core.params import SmplxParams

PREVIEW_FACES = 7000  # 640x480 preview: the avatar at 1/4 of its faces looks the same and draws 1.5x faster


@dataclass(frozen=True)
class Decimation:
    """How to reduce one topology. faces: (f, 3) int32 triangles over the kept vertices (read-only);
    clusters: (V,) int index of the kept vertex each full vertex collapsed into; weights: (V,) float32 1 /
    size of that cluster."""

    faces: np.ndarray
    clusters: np.ndarray
    weights: np.ndarray

    @classmethod
    def of(cls, vertices: np.ndarray, faces: np.ndarray, max_faces: int) -> Decimation:
        import fast_simplification

        points = np.array(vertices, np.float64)
        triangles = np.array(faces, np.int32)
        _, _, collapses = fast_simplification.simplify(
            points, triangles, target_reduction=1.0 - max_faces / len(triangles), return_collapses=True)
        _, reduced, clusters = fast_simplification.replay_simplification(points, triangles, collapses)
        sizes = np.bincount(clusters)
        reduced = np.ascontiguousarray(reduced, np.int32)
        reduced.flags.writeable = False
        return cls(reduced, clusters, (1.0 / sizes[clusters]).astype(np.float32))

    def vertices(self, full: np.ndarray) -> np.ndarray:
        """(v, 3) float32 kept vertices for (V, 3) full ones: each cluster's mean."""
        kept = np.empty((int(self.clusters.max()) + 1, 3), np.float32)
        weighted = full * self.weights[:, None]
        for axis in range(3):  # bincount per axis: ~10x faster than np.add.at
            kept[:, axis] = np.bincount(self.clusters, weighted[:, axis], minlength=len(kept))
        return kept


class LowPolyBody:
    """`body`'s meshes with at most about `max_faces` triangles each (a `MeshSource`); meshes that already have
    fewer pass through."""

    def __init__(self, body: MeshSource, max_faces: int = PREVIEW_FACES) -> None:
        self.body, self.max_faces = body, max_faces
        self._decimations: dict[int, tuple[np.ndarray, Decimation]] = {}  # id(faces) -> (faces, decimation)

    def meshes(self, params: SmplxParams | Sequence[SmplxParams]) -> list[BodyMesh]:
        return [self._reduce(mesh) for mesh in self.body.meshes(params)]

    def _reduce(self, mesh: BodyMesh) -> BodyMesh:
        if len(mesh.faces) <= self.max_faces:
            return mesh
        known = self._decimations.get(id(mesh.faces))
        if known is None or known[0] is not mesh.faces:  # body models share one faces array between meshes
            known = (mesh.faces, Decimation.of(mesh.vertices, mesh.faces, self.max_faces))
            self._decimations[id(mesh.faces)] = known
        decimation = known[1]
        return BodyMesh(decimation.vertices(mesh.vertices), decimation.faces, mesh.joints, mesh.track_id, mesh.color)
