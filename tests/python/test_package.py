"""`pip install .` gives a working package: the wheel scikit-build-core builds from the project's own
CMake, installed apart from the source and build trees, imports its own compiled module, finds
its suites and runs one."""
import os
import pathlib
import subprocess
import sys
import textwrap

from conftest import BUILD, ROOT


def test_the_wheel_installs_a_working_package(tmp_path):
    wheels, target = tmp_path / "wheels", tmp_path / "site"
    # Without build isolation: the pinned scikit-build-core and pybind11 of the project's environment.
    # The wheel packages the module this build already compiled (RACKQUAL_PREBUILT_CORE) rather
    # than compiling the harness a second time; the build folder is kept in the build tree.
    (module,) = (BUILD / "python" / "rackqual").glob("_core.*.so")
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation", "-w", str(wheels),
                    "-Cbuild-dir=" + str(BUILD / "wheel"), "-Ccmake.define.RACKQUAL_CUDA=OFF",
                    "-Ccmake.define.RACKQUAL_PREBUILT_CORE=" + str(module), "-q"],
                   check=True, capture_output=True, text=True, timeout=1800)
    (wheel,) = wheels.glob("rackqual-*.whl")
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
