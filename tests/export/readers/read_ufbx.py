"""Read an FBX with ufbx (the C loader) and print what it found as JSON.

Usage: python read_ufbx.py FILE.fbx FRAME [FRAME ...]
Output: fps, unit_meters, axes, bones (name, parent), stack range, local transforms of every bone at
the sampled frames (quaternion w,x,y,z; translation), blend channels with weights, skin + pose counts.
ufbx 0.0.5 segfaults when a list property is fetched twice: every list is fetched once and kept.
"""

import json
import sys

import ufbx


def main() -> None:
    path, frames = sys.argv[1], [int(f) for f in sys.argv[2:]]
    scene = ufbx.load_file(path)
    settings = scene.settings
    fps = settings.frames_per_second
    nodes = list(scene.nodes)
    bones = [n for n in nodes if n.bone is not None]
    stacks = list(scene.anim_stacks)
    stack = stacks[0]
    anim = stack.anim
    samples = {}
    for f in frames:
        t = f / fps
        frame = {}
        for n in bones:
            tr = n.evaluate_transform(anim, t)
            q = tr.rotation
            frame[n.name] = {"rotation": [q.w, q.x, q.y, q.z],
                             "translation": [tr.translation.x, tr.translation.y, tr.translation.z]}
        samples[str(f)] = frame
    channels = list(scene.blend_channels)
    blend = {}
    for ch in channels:
        shape = ch.target_shape
        blend[ch.name] = {"shape": shape.name, "offsets": shape.num_offsets,
                          "weights": [ch.evaluate_blend_weight(anim, f / fps) for f in frames]}
    axes = settings.axes
    meshes = list(scene.meshes)
    rest = {}
    for n in bones:
        lt = n.local_transform
        rest[n.name] = [lt.translation.x, lt.translation.y, lt.translation.z]
    print(json.dumps({
        "version": scene.metadata.version,
        "fps": fps,
        "unit_meters": settings.unit_meters,
        "axes": [axes.right.name, axes.up.name, axes.front.name],
        "bones": [[n.name, n.parent.name if n.parent is not None else None] for n in bones],
        "rest_translation": rest,
        "stacks": len(stacks),
        "time_end": stack.time_end,
        "samples": samples,
        "blend": blend,
        "skin_deformers": len(list(scene.skin_deformers)),
        "skin_clusters": len(list(scene.skin_clusters)),
        "poses": len(list(scene.poses)),
        "meshes": len(meshes),
        "mesh_vertices": [m.num_vertices for m in meshes],
    }))


if __name__ == "__main__":
    main()
