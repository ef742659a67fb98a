"""Read a .glb with pygltflib, decode its accessors with numpy and print skin, nodes and animation as JSON.

Usage: python read_gltf.py FILE.glb FRAME [FRAME ...]
"""

import json
import sys

import numpy as np
import pygltflib

_COMPONENTS = {5126: np.float32, 5123: np.uint16, 5125: np.uint32, 5121: np.uint8}
_WIDTH = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT4": 16}


def main() -> None:
    path, frames = sys.argv[1], [int(f) for f in sys.argv[2:]]
    gltf = pygltflib.GLTF2().load(path)
    blob = gltf.binary_blob()

    def read(index: int) -> np.ndarray:
        accessor = gltf.accessors[index]
        view = gltf.bufferViews[accessor.bufferView]
        width = _WIDTH[accessor.type]
        start = (view.byteOffset or 0) + (accessor.byteOffset or 0)
        dtype = _COMPONENTS[accessor.componentType]
        data = np.frombuffer(blob, dtype=dtype, count=accessor.count * width, offset=start)
        return data.reshape(accessor.count, width)

    names = [n.name for n in gltf.nodes]
    parents = {}
    for i, node in enumerate(gltf.nodes):
        for child in node.children or []:
            parents[names[child]] = names[i]
    skin = gltf.skins[0]
    animation = gltf.animations[0]
    tracks = {}
    times = None
    for channel in animation.channels:
        sampler = animation.samplers[channel.sampler]
        times = read(sampler.input)[:, 0]
        values = read(sampler.output)
        key = f"{names[channel.target.node]}/{channel.target.path}"
        tracks[key] = values[frames].tolist() if channel.target.path != "weights" else values.reshape(
            len(times), -1)[frames].tolist()
    primitive = gltf.meshes[0].primitives[0]
    print(json.dumps({
        "joints": [names[j] for j in skin.joints], "parents": parents,
        "rest_translation": {n.name: n.translation for n in gltf.nodes},
        "inverse_bind": read(skin.inverseBindMatrices).tolist(),
        "num_keys": len(times), "time_end": float(times[-1]),
        "tracks": tracks,
        "vertices": read(primitive.attributes.POSITION).shape[0],
        "targets": len(primitive.targets or []),
        "target_names": (gltf.meshes[0].extras or {}).get("targetNames", []),
        "materials": len(gltf.materials),
    }))


if __name__ == "__main__":
    main()
