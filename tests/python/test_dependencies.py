"""A dependency missing, not importable or older than the package declares is one line naming it:
raised at `import rackqual`, and from the CLI (python -m rackqual COMMAND) on stderr with exit 2,
never a traceback from deep inside. pyproject.toml declares the same lower bounds the check uses."""
from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import re
import subprocess
import sys

import pytest

from conftest import PACKAGE, ROOT
from rackqual import dependencies


def python(tmp_path, *args: str, fake: str = "") -> subprocess.CompletedProcess:
    """Runs python with `fake` (a folder of stand-in modules) first on the path, then the package."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [fake, str(PACKAGE)])))
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, cwd=tmp_path,
                          timeout=300, stdin=subprocess.DEVNULL)


def fake_release(folder, name: str, version: str, body: str = "") -> str:
    """A stand-in for distribution `name` at `version`: its metadata and a module."""
    info = folder / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (folder / name).mkdir()
    (folder / name / "__init__.py").write_text(body or f"__version__ = {version!r}\n")
    return str(folder)


def test_pyproject_declares_the_lower_bounds_the_check_uses():
    text = (ROOT / "pyproject.toml").read_text()
    declared = re.search(r"^dependencies\s*=\s*\[(.*?)\]", text, re.M | re.S).group(1)
    bounds = dict(re.findall(r'"([A-Za-z0-9_]+)>=([0-9.]+)', declared))
    assert {k.lower(): v for k, v in bounds.items()} == dependencies.MINIMUM
    pins = dict(re.findall(r"^([A-Za-z0-9_]+)==([0-9.]+)$", (ROOT / "python" / "requirements.txt").read_text(), re.M))
    assert all(pins[name] == low for name, low in dependencies.MINIMUM.items()), "the lower bounds are the pins tested"


def test_release_order():
    assert dependencies.release("2.2.3") < dependencies.release("2.10.0") < dependencies.release("26.0.1")
    assert dependencies.release("1.1.3rc1") == (1, 1, 3) and dependencies.release("0.9.2") < (1, 1, 3)


def test_an_old_release_stops_the_import_with_one_line(tmp_path):
    fake = fake_release(tmp_path / "fake", "duckdb", "0.9.2")
    proc = python(tmp_path, "-c", "import rackqual", fake=fake)
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last == "rackqual.dependencies.MissingDependency: rackqual needs duckdb>=1.1.3 (found 0.9.2)", proc.stderr
    assert "history.py" not in proc.stderr and "fleet.py" not in proc.stderr, "raised where the package is imported"


@pytest.mark.parametrize("command", [["ingest", "results", "--into", "history"], ["compare", "a", "b"], ["report", "r"]])
def test_the_cli_names_an_old_release_in_one_line_and_exits_2(tmp_path, command):
    fake = fake_release(tmp_path / "fake", "pandas", "1.5.3")
    proc = python(tmp_path, "-m", "rackqual", *command, fake=fake)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr == "rackqual needs pandas>=2.2.3 (found 1.5.3)\n", proc.stderr


def test_the_cli_names_a_dependency_that_does_not_import(tmp_path):
    # Installed (its metadata is there) but its module does not load, as a broken binary would.
    fake = fake_release(tmp_path / "fake", "duckdb", "1.1.3", body="raise ImportError('libduckdb.so: cannot open shared "
                        "object file', name='duckdb.duckdb')\n")
    proc = python(tmp_path, "-m", "rackqual", "ingest", str(tmp_path), "--into", str(tmp_path / "history"), fake=fake)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr == "rackqual needs duckdb>=1.1.3 (libduckdb.so: cannot open shared object file)\n", proc.stderr
    assert not (tmp_path / "history").exists()


def test_a_dependency_not_installed_is_named(tmp_path):
    # sys.modules' None entry: `import plotly` fails as if it were not there.
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text("import sys\nsys.modules['plotly'] = None\n")
    proc = python(tmp_path, "-m", "rackqual", "report", str(tmp_path), fake=str(tmp_path / "site"))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.startswith("rackqual needs plotly>=5.24.1 (") and proc.stderr.count("\n") == 1, proc.stderr


def test_check_says_not_installed_where_there_is_no_module(monkeypatch):
    def version(name):
        if name == "jinja2":
            raise importlib.metadata.PackageNotFoundError(name)
        return dependencies.MINIMUM[name]
    monkeypatch.setattr(importlib.metadata, "version", version)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(dependencies.MissingDependency, match=r"^rackqual needs jinja2>=3\.1\.4 \(not installed\)$"):
        dependencies.check()
    dependencies.check(("numpy", "pandas"))   # the others are there
