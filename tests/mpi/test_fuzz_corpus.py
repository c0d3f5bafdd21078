"""The fuzzers' kept corpus (fuzz/corpus) fed to the real binary, with the awkward paths besides:
every input exits 0 or 2 (judge: 0, 1 or 2), never 3 or a signal, and on exit 2 stderr says
`file:LINE: field: message` with LINE >= 1 in rackqual's words, never a library's."""
import concurrent.futures
import os
import pathlib
import re
import shutil
import subprocess
import tempfile
import unittest

from harness import BIN, ROOT

CORPUS = ROOT / "fuzz" / "corpus"
JUDGE_SUITE = ROOT / "fuzz" / "judge_suite.yaml"
# What libraries write into their exceptions; never in an error message unless the input holds it.
LIBRARY_WORDS = ("yaml-cpp", "bad file", "filesystem error", "basic_string", "json.exception", "std::", "what():",
                 "terminate called", "bad_alloc", "stoi", "stod")
PREFIX = re.compile(r"^(?P<line>\d+): (?P<field>[^:\n]+): \S")
SMOKE_CHECKS = (ROOT / "suites" / "smoke.yaml").read_text().split("checks:\n", 1)[1]


def rackqual(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([BIN, *args], capture_output=True, timeout=120, stdin=subprocess.DEVNULL,
                          env={**os.environ, "RACKQUAL_DATA_DIR": str(ROOT)})


class FuzzCorpusTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls._tmp = tempfile.TemporaryDirectory()
        cls.tmp = pathlib.Path(cls._tmp.name)
        # A suite that stops a run before anything is measured, so an inventory that places
        # this machine's rank still exits 2 (on the suite's line 3), never runs a benchmark.
        cls.empty_suite = cls.tmp / "empty.yaml"
        cls.empty_suite.write_text("name: empty\nplatform: host\nchecks: []\n")

    @classmethod
    def tearDownClass(cls):
        cls._tmp.cleanup()

    def assert_clean(self, proc: subprocess.CompletedProcess, files: list[pathlib.Path], codes=(0, 2), data: bytes = b""):
        stderr = proc.stderr.decode(errors="replace")
        what = f"{' '.join(map(str, proc.args[1:]))[:300]}: exit {proc.returncode}\n{stderr[:2000]}"
        self.assertIn(proc.returncode, codes, what)
        for word in LIBRARY_WORDS:
            if word.encode() not in data:
                self.assertNotIn(word, stderr, what)
        if proc.returncode != 2:
            return
        named = [f for f in files if stderr.startswith(f"{f}:")]
        self.assertTrue(named, f"stderr names none of {[str(f)[:80] for f in files]}: {what}")
        m = PREFIX.match(stderr[len(f"{named[0]}:"):])
        self.assertTrue(m, f"not file:LINE: field: message: {what}")
        self.assertGreaterEqual(int(m["line"]), 1, what)

    def each(self, parser: str, feed):
        """Feeds every kept input of `parser` to `feed(path) -> (proc, files, codes)`, two at a time."""
        inputs = sorted(p for p in (CORPUS / parser).iterdir() if p.is_file())
        self.assertTrue(inputs, f"no corpus for {parser}")
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            for path, (proc, files, codes) in zip(inputs, pool.map(feed, inputs)):
                with self.subTest(input=path.name):
                    self.assert_clean(proc, files, codes, path.read_bytes())

    def platform_suite(self, folder: pathlib.Path) -> pathlib.Path:
        """A suite naming the profile platforms/fz.yaml beside it, with the smoke suite's checks."""
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "platforms").mkdir(exist_ok=True)
        suite = folder / "suite.yaml"
        suite.write_text("name: fz\nplatform: fz\nchecks:\n" + SMOKE_CHECKS)
        return suite

    # The corpus, one parser at a time.

    def test_suites(self):
        self.each("suite", lambda p: (rackqual("check", str(p)), [p], (0, 2)))

    def test_platform_profiles(self):
        def feed(p):
            suite = self.platform_suite(self.tmp / "platform" / p.name)
            profile = suite.parent / "platforms" / "fz.yaml"
            shutil.copyfile(p, profile)
            return rackqual("check", str(suite)), [profile, suite], (0, 2)
        self.each("platform", feed)

    def test_inventories(self):
        self.each("inventory", lambda p: (rackqual("run", str(self.empty_suite), "--backend", "host", "--inventory", str(p)),
                                          [p, self.empty_suite], (2,)))

    def test_records(self):
        self.each("records", lambda p: (rackqual("judge", str(p), "--suite", str(JUDGE_SUITE)), [p, JUDGE_SUITE], (0, 1, 2)))

    # The awkward paths, given to each reader in turn.

    def awkward(self) -> dict[str, pathlib.Path]:
        folder = self.tmp / "awkward"
        folder.mkdir(exist_ok=True)
        cases = {"missing": folder / "absent.yaml", "directory": folder / "dir.yaml",
                 "name_too_long": folder / ("n" * 300 + ".yaml"),
                 # Root reads every file it may open: /proc/self/mem opens, and reading its first
                 # page (never mapped) fails with EIO, as an unreadable file fails for a user.
                 "unreadable": pathlib.Path("/proc/self/mem")}
        cases["directory"].mkdir(exist_ok=True)
        for name, data in {"empty": b"", "nul_byte": b"name: a\0b\nchecks: [{id: g, kind: gemm}]\n",
                           "invalid_utf8": b"name: \xff\xfe\xc3\x28\nchecks: [{id: \xe2\x28\xa1, kind: gemm}]\n",
                           "huge_line": b"name: " + b"x" * (4 << 20) + b"\nchecks: [{id: g, kind: gemm}]\n",
                           "huge_json_line": b'{"schema": 1, "run_id": "' + b"r" * (4 << 20) + b'"}\n'}.items():
            cases[name] = folder / f"{name}.yaml"
            cases[name].write_bytes(data)
        return cases

    def test_awkward_suite_paths(self):
        for name, path in self.awkward().items():
            with self.subTest(case=name):
                self.assert_clean(rackqual("check", str(path)), [path], (0, 2))

    def test_awkward_profile_paths(self):
        for name, path in self.awkward().items():
            with self.subTest(case=name):
                suite = self.platform_suite(self.tmp / "awkward-profile" / name)
                profile = suite.parent / "platforms" / "fz.yaml"
                if name == "directory":
                    profile.mkdir(exist_ok=True)
                else:
                    profile.symlink_to(path)
                self.assert_clean(rackqual("check", str(suite)), [profile, suite], (2,))

    def test_awkward_inventory_paths(self):
        for name, path in self.awkward().items():
            with self.subTest(case=name):
                self.assert_clean(rackqual("run", str(self.empty_suite), "--backend", "host", "--inventory", str(path)),
                                  [path, self.empty_suite], (2,))

    def test_awkward_records_paths(self):
        for name, path in self.awkward().items():
            with self.subTest(case=name):
                self.assert_clean(rackqual("judge", str(path), "--suite", str(JUDGE_SUITE)), [path, JUDGE_SUITE], (0, 2))
                self.assert_clean(rackqual("judge", str(JUDGE_SUITE), "--suite", str(path)), [path, JUDGE_SUITE], (2,))


if __name__ == "__main__":
    unittest.main()
