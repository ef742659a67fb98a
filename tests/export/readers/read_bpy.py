"""Import a file with Blender (bpy, run in its own venv) and print what Blender sees as JSON.

Usage: python read_bpy.py IMPORTER FILE FPS FRAME [FRAME ...]
IMPORTER: fbx (Python importer, the strictest), fbx_ufbx (Blender's C++ importer), bvh, gltf.
For every bone at each sampled clip frame it prints the bone's world rotation relative to its rest
(quaternion w,x,y,z, Blender world axes) and the root bone's world head position (metres), so the
caller can compare independently of the rest orientations Blender picks for bones.
"""

import json
import sys

import bpy


def main() -> None:
    importer, path, fps, frames = sys.argv[1], sys.argv[2], float(sys.argv[3]), [int(f) for f in sys.argv[4:]]
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.fps = round(fps)
    scene.render.fps_base = round(fps) / fps
    if importer == "fbx":
        result = bpy.ops.import_scene.fbx(filepath=path)
    elif importer == "fbx_ufbx":
        result = bpy.ops.wm.fbx_import(filepath=path)
    elif importer == "bvh":
        result = bpy.ops.import_anim.bvh(filepath=path, frame_start=1, update_scene_fps=True)
    elif importer == "gltf":
        result = bpy.ops.import_scene.gltf(filepath=path)
    else:
        raise SystemExit(f"unknown importer {importer}")
    if "FINISHED" not in result:
        raise SystemExit(f"import failed: {result}")
    armatures = [ob for ob in scene.objects if ob.type == "ARMATURE"]
    if len(armatures) != 1:
        raise SystemExit(f"expected one armature, found {len(armatures)}")
    arm = armatures[0]
    actions = list(bpy.data.actions)
    start = min(a.frame_range[0] for a in actions) if actions else 1.0
    bones = [b.name for b in arm.data.bones]
    parents = {b.name: b.parent.name if b.parent else None for b in arm.data.bones}
    root = next(b.name for b in arm.data.bones if b.parent is None)
    # Skinned meshes only: Blender's glTF importer adds an "Icosphere" bone-display shape.
    meshes = [ob for ob in scene.objects if ob.type == "MESH" and any(m.type == "ARMATURE" for m in ob.modifiers)]
    keyed = [ob for ob in meshes if ob.data.shape_keys is not None]
    samples = {}
    for f in frames:
        scene.frame_set(round(start) + f)
        bpy.context.view_layer.update()
        frame = {}
        for pb in arm.pose.bones:
            posed = arm.matrix_world @ pb.matrix
            rest = arm.matrix_world @ pb.bone.matrix_local
            delta = (posed.to_3x3().normalized() @ rest.to_3x3().normalized().inverted()).to_quaternion()
            frame[pb.name] = [delta.w, delta.x, delta.y, delta.z]
        head = arm.matrix_world @ arm.pose.bones[root].head
        shapes = {}
        for ob in keyed:
            for kb in ob.data.shape_keys.key_blocks[1:]:
                shapes[kb.name] = kb.value
        vertices = []
        if meshes:
            evaluated = meshes[0].evaluated_get(bpy.context.evaluated_depsgraph_get())
            vertices = [list(evaluated.matrix_world @ v.co) for v in evaluated.to_mesh().vertices]
            evaluated.to_mesh_clear()
        samples[str(f)] = {"rotations": frame, "root_head": list(head), "shapes": shapes, "vertices": vertices}
    print(json.dumps({
        "bones": bones, "parents": parents, "root": root, "fps": scene.render.fps / scene.render.fps_base,
        "rest_heads": {b.name: list(arm.matrix_world @ b.head_local) for b in arm.data.bones},
        "frame_range": [list(a.frame_range) for a in actions], "start": start,
        "meshes": len(meshes), "mesh_names": [ob.name for ob in meshes],
        "shape_keys": [kb.name for ob in keyed for kb in ob.data.shape_keys.key_blocks],
        "vertex_groups": sorted({g.name for ob in meshes for g in ob.vertex_groups}),
        "samples": samples,
    }))


if __name__ == "__main__":
    main()
