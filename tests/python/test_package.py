"""`pip install .` gives a working package: the wheel scikit-build-core builds from the project's own
CMake, installed apart from the source and build trees, imports its own compiled module, finds
its suites and runs one. The package's tests (load, ingest, the history's files and format,
compare, suspects, report, board, notebook, its dependency check) pass on that wheel in a fresh
virtual environment at both ends of what it declares: python/requirements.txt's pins (its lower
bounds) and the newest releases pip resolves."""
import json
import os
import pathlib
import subprocess
import sys
import textwrap
import time

import pytest

from conftest import BIN, BUILD, ROOT
from rackqual import dependencies

# The package's tests that run on the installed wheel, and the tools they need beside it.
PACKAGE_TESTS = ["test_load.py", "test_history.py", "test_history_files.py", "test_history_format.py", "test_fleet.py",
                 "test_report.py", "test_board.py", "test_notebook.py", "test_dependencies.py"]
TEST_TOOLS = ["pytest", "playwright", "nbformat", "nbclient", "ipykernel"]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> pathlib.Path:
    wheels, build = tmp_path_factory.mktemp("wheels"), tmp_path_factory.mktemp("wheel-build")
    # Without build isolation: the pinned scikit-build-core and pybind11 of the project's environment.
    # The wheel packages the module this build already compiled (RACKQUAL_PREBUILT_CORE) rather
    # than compiling the harness a second time; CMake configures in a folder of its own, so that
    # the test writes nothing into the build tree.
    (module,) = (BUILD / "python" / "rackqual").glob("_core.*.so")
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation", "-w", str(wheels),
                    "-Cbuild-dir=" + str(build), "-Ccmake.define.RACKQUAL_CUDA=OFF",
                    "-Ccmake.define.RACKQUAL_PREBUILT_CORE=" + str(module), "-q"],
                   check=True, capture_output=True, text=True, timeout=1800)
    (built,) = wheels.glob("rackqual-*.whl")
    return built


def test_the_wheel_installs_a_working_package(tmp_path, wheel):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--target", str(target), str(wheel), "-q"],
                   check=True, capture_output=True, text=True, timeout=300)

    script = textwrap.dedent(f"""
        import pathlib, rackqual
        assert pathlib.Path(rackqual._core.__file__).is_relative_to({str(target)!r}), rackqual._core.__file__
        suite = pathlib.Path(rackqual.__file__).parent / "data" / "suites" / "smoke.yaml"
        assert rackqual.load_suite(str(suite))["platform"] == "host"   # its profiles installed beside it
        one = pathlib.Path({str(tmp_path)!r}) / "one.yaml"
        one.write_text("name: one\\nplatform: auto\\ndefaults: {{repetitions: 3, min_time: 0.01s}}\\nchecks:\\n"
                       "  - id: triad\\n    kind: hbm\\n    scope: gpu\\n    params: {{op: triad, bytes: 8MiB}}\\n")
        df = rackqual.run(one, out={str(tmp_path / "out")!r}, backend="host")
        assert df.attrs["exit_code"] == 0 and list(df["metric"]) == ["gbps"] and df["value"][0] > 0, df
        print("ok", rackqual._core.__version__)
    """)
    env = {k: v for k, v in os.environ.items() if k not in ("RACKQUAL_BUILD", "RACKQUAL_DATA_DIR", "PYTHONPATH")}
    env["PYTHONPATH"] = str(target)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0 and proc.stdout.splitlines()[-1].startswith("ok"), proc.stdout + proc.stderr


def venv_with(folder: pathlib.Path, end: str, *install: str) -> pathlib.Path:
    """A fresh virtual environment with `install` pip-installed (pip's cache kept between runs); its python."""
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True, capture_output=True, timeout=300)
    python = folder / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PIP_NO_CACHE_DIR", "VIRTUAL_ENV")}
    proc = subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *install],
                          capture_output=True, text=True, env=env, timeout=1200)
    assert proc.returncode == 0, f"the {end} end: pip install {' '.join(install)} failed:\n" + proc.stdout + proc.stderr
    return python


@pytest.mark.parametrize("end", ["pinned", "newest"])
def test_the_packages_tests_pass_on_the_wheel_at_both_ends(tmp_path, wheel, end):
    if end == "pinned":
        python = venv_with(tmp_path / "venv", end, "-r", str(ROOT / "python" / "requirements.txt"), str(wheel))
    else:
        python = venv_with(tmp_path / "venv", end, "--upgrade", str(wheel), *TEST_TOOLS)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "RACKQUAL_DATA_DIR")}
    probe = ("import json, rackqual, rackqual.dependencies as d; "
             "print(json.dumps({n: d.installed(n) for n in [*d.MINIMUM, 'pytest']} | {'at': rackqual.__file__}))")
    proc = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, f"the {end} end: the installed package does not import:\n{proc.stderr}"
    found = json.loads(proc.stdout)
    assert pathlib.Path(found.pop("at")).is_relative_to(tmp_path / "venv"), "the wheel, not the source tree"
    end_is = f"the {end} end (" + ", ".join(f"{n} {v}" for n, v in found.items()) + ")"
    for name, lowest in dependencies.MINIMUM.items():
        if end == "pinned":
            assert found[name] == lowest, f"{end_is}: {name} is not its pin {lowest}"
        else:
            assert dependencies.release(found[name]) >= dependencies.release(lowest), f"{end_is}: {name} below {lowest}"

    env.update(RACKQUAL_INSTALLED="1", RACKQUAL_BUILD=str(BUILD), RACKQUAL_BIN=BIN)
    started = time.monotonic()
    proc = subprocess.run([str(python), "-m", "pytest", "-q", "-rfEs", "-p", "no:cacheprovider",
                           f"--basetemp={tmp_path / 'pytest'}", *[str(ROOT / "tests" / "python" / t) for t in PACKAGE_TESTS]],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=1800)
    lines = proc.stdout.strip().splitlines()
    # Each failing test by its path in the source tree (pytest names it from the working folder).
    failed = [line.replace(os.path.relpath(ROOT, tmp_path) + os.sep, "") for line in lines
              if line.startswith(("FAILED ", "ERROR "))]
    assert proc.returncode == 0, (f"{end_is}: {len(failed)} of the package's tests failed:\n" + "\n".join(failed) +
                                  "\n\n" + proc.stdout[-8000:] + proc.stderr[-4000:])
    assert " passed" in lines[-1] and " skipped" not in lines[-1], f"{end_is}: {lines[-1]}"
    print(f"{end_is}: {lines[-1]} ({time.monotonic() - started:.0f} s)")
