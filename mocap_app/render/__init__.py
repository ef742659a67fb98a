"""Offscreen rendering of SMPL-X meshes with pyrender (the only package that imports pyrender/OpenGL)."""
