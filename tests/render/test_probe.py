from __future__ import annotations

from mocap_app.render.probe import probe_platform


def test_probe_egl_renders_and_names_the_gl_renderer() -> None:
    ok, detail = probe_platform("egl")
    assert ok, detail
    assert "OpenGL" in detail


def test_probe_rejects_an_unknown_platform_without_starting_a_process() -> None:
    ok, detail = probe_platform("directx")
    assert not ok
    assert "egl, osmesa" in detail


def test_probe_reports_a_timeout_instead_of_hanging() -> None:
    ok, detail = probe_platform("egl", timeout_s=0.01)
    assert not ok
    assert "no frame within" in detail


def test_known_failures_come_with_their_fix() -> None:
    from mocap_app.render.probe import _last_error_line

    error = "Traceback ...\nImportError: cannot import name 'OSMesaCreateContextAttribs' from 'OpenGL.osmesa'"
    assert _last_error_line(error).startswith("ImportError: cannot import name")
    assert "PyOpenGL>=3.1.4" in _last_error_line(error)
    assert "apt-get install libosmesa6" in _last_error_line(
        "ImportError: ('Unable to load OpenGL library', 'OSMesa: cannot open shared object file: No such file')")
    assert _last_error_line("RuntimeError: boom") == "RuntimeError: boom"
