"""The package carries the schema of schemas/ and works from a wheel, not only the checkout."""

from __future__ import annotations

import importlib.util
import shutil
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from scsync.checks.schema import bundled_schema_text

REPO_ROOT = Path(__file__).resolve().parent.parent
SCHEMA = REPO_ROOT / "schemas" / "smartconnector.schema.json"
BUNDLED = REPO_ROOT / "src" / "scsync" / "schemas" / "smartconnector.schema.json"
WHEEL_SCHEMA = "scsync/schemas/smartconnector.schema.json"
UI = REPO_ROOT / "src" / "scsync" / "controller" / "ui"
#: The web UI's templates and static files: package data, not Python modules.
UI_FILES = sorted(p.relative_to(REPO_ROOT / "src").as_posix()
                  for folder in ("templates", "static") for p in (UI / folder).iterdir())


def test_the_bundled_schema_is_byte_identical_to_schemas() -> None:
    assert BUNDLED.read_bytes() == SCHEMA.read_bytes()


def test_the_package_reads_the_bundled_schema() -> None:
    assert bundled_schema_text().encode("utf-8") == SCHEMA.read_bytes()


def _run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


@pytest.mark.slow
def test_a_wheel_carries_the_schema_and_validates_from_a_fresh_venv(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    # hatchling is here on a developer machine; a fresh CI env gets it through isolation
    isolation = [] if importlib.util.find_spec("hatchling") is None else ["--no-build-isolation"]
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", *isolation, "--quiet",
         "-w", dist, REPO_ROOT, cwd=tmp_path)
    (wheel,) = dist.glob("scsync-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        assert zf.read(WHEEL_SCHEMA) == SCHEMA.read_bytes()
        assert {"scsync/controller/ui/static/ui.js", "scsync/controller/ui/static/ui.css",
                "scsync/controller/ui/templates/overview.html"} <= set(UI_FILES)
        for name in UI_FILES:
            assert zf.read(name) == (REPO_ROOT / "src" / name).read_bytes(), name
        assert any(name.endswith(".dist-info/entry_points.txt") for name in zf.namelist())

    # --system-site-packages: the dependencies (and pip) come from this interpreter,
    # scsync itself only from the wheel: the venv's own site-packages come first on
    # sys.path.  When the tests run in a venv themselves, its site-packages are not
    # the "system" ones, so a .pth file adds them (after the new venv's own).
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", venv,
         cwd=tmp_path)
    python = venv / "bin" / "python"
    venv_site = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))",
                          cwd=tmp_path).stdout.strip())
    (venv_site / "outer-site.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    _run(python, "-m", "pip", "install", "--quiet", "--no-deps", "--force-reinstall", wheel,
         cwd=tmp_path)

    work = tmp_path / "elsewhere"  # not the checkout: nothing can come from src/ or schemas/
    shutil.copytree(REPO_ROOT / "connectors", work / "manifests")
    located = _run(python, "-c", "import scsync, scsync.schemas as s; "
                   "print(scsync.__file__); print(s.__file__)", cwd=work).stdout.split()
    venv_lib = venv / "lib"
    assert all(Path(p).is_relative_to(venv_lib) for p in located), located
    # The UI finds its templates and static files where the wheel put them.
    ui = _run(python, "-c", "from scsync.controller.ui import routes; "
              "print(routes.HERE); print(routes.templates().get_template('overview.html')"
              ".filename); print((routes.HERE / 'static' / 'ui.js').is_file())",
              cwd=work).stdout.split()
    assert all(Path(p).is_relative_to(venv_lib) for p in ui[:2]) and ui[2] == "True", ui

    proc = subprocess.run(
        [venv / "bin" / "scsync", "validate", "manifests"], cwd=work, capture_output=True,
        text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    count = len(list((REPO_ROOT / "connectors").glob("*.y*ml")))
    assert f"{count} files checked, passed" in proc.stdout

    bad = work / "manifests" / "broken.yaml"
    bad.write_text("apiVersion: scsync/v1\nkind: SmartConnector\n")
    proc = subprocess.run(
        [venv / "bin" / "scsync", "validate", "manifests"], cwd=work, capture_output=True,
        text=True, timeout=120, check=False,
    )
    assert proc.returncode == 1
    assert "broken.yaml:1:1: error[SC020] missing required key 'api_name'" in proc.stdout
