"""`rackqual ingest` and `rackqual compare` in the CLI are the Python package's, arguments and exit codes
included."""
from conftest import rackqual


def test_the_cli_ingests_and_compares_through_the_package(results, tmp_path):
    history = tmp_path / "history"
    proc = rackqual("ingest", str(results), "--into", str(history))
    assert proc.returncode == 0, proc.stderr
    assert "2 run(s) added" in proc.stdout + proc.stderr
    again = rackqual("ingest", str(results), "--into", str(history))
    assert again.returncode == 0 and "0 run(s) added" in again.stdout + again.stderr
    same = rackqual("compare", str(results), str(history))
    assert same.returncode == 0, same.stdout + same.stderr


def test_the_packages_own_help_and_bad_input(tmp_path):
    help = rackqual("ingest", "--help")
    assert help.returncode == 0 and "--into" in help.stdout
    missing = rackqual("compare", str(tmp_path / "nothing"), str(tmp_path / "nothing-either"))
    assert missing.returncode == 2 and len(missing.stderr.strip().splitlines()) == 1, missing.stderr
