"""The PySide6 desktop GUI — the only package that imports Qt."""
