"""scripts/bundle.sh end to end: bundle this build into a temporary folder, then run the bundled
rackqual with an environment holding nothing but PATH=/usr/bin:/bin: `rackqual list`, and the
smoke suite on the host backend on 2 ranks under the bundled mpiexec. Every library the bundled
programs load must resolve inside the bundle, except the driver's and the C library's."""
import json
import os
import pathlib
import shutil
import subprocess
import tempfile
import unittest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("RACKQUAL_BUILD_DIR", ROOT / "build"))
CLEAN_ENV = {"PATH": "/usr/bin:/bin"}
# What the GPU machine provides: the NVIDIA driver and the C library.
SYSTEM = ("linux-vdso.so", "ld-linux", "libc.so", "libm.so", "libpthread.so", "libdl.so", "librt.so",
          "libresolv.so", "libutil.so", "libcuda.so", "libnvidia-ml.so")


def is_elf(path: pathlib.Path) -> bool:
    with open(path, "rb") as f:
        return f.read(4) == b"\x7fELF"


class Bundle(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="rackqual-bundle-")
        cls.bundle = pathlib.Path(cls.tmp) / "bundle"
        made = subprocess.run(["bash", str(ROOT / "scripts" / "bundle.sh"), str(BUILD), str(cls.bundle)],
                              capture_output=True, text=True, timeout=600)
        if made.returncode != 0:
            shutil.rmtree(cls.tmp, ignore_errors=True)
            raise AssertionError(f"bundle.sh failed ({made.returncode}):\n{made.stdout}{made.stderr}")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def run_bundled(self, *command, timeout=300):
        return subprocess.run(["env", "-i", "PATH=/usr/bin:/bin", str(self.bundle / "run.sh"), *command],
                              capture_output=True, text=True, timeout=timeout, env=CLEAN_ENV)

    def test_layout(self):
        for name in ("bin/rackqual", "bin/mpiexec.mpich", "bin/mpiexec.hydra", "bin/hydra_pmi_proxy", "env.sh",
                     "run.sh", "suites/smoke.yaml", "suites/platforms/h100-sxm.yaml", "tests/gpu/test_gpu.py",
                     "tests/gpu/test_consensus_gpu.py", "bench/gpu_ratios.py", "scripts/bench-gpu.sh",
                     "scripts/gpu-proof.sh"):
            self.assertTrue((self.bundle / name).exists(), name)
        libs = {p.name.split(".so")[0] for p in (self.bundle / "lib").iterdir()}
        for lib in ("libmpich", "libyaml-cpp", "libopenblas", "libgfortran", "libbenchmark", "libgomp", "libstdc++",
                    "libcudart", "libcublasLt", "libnccl"):
            self.assertIn(lib, libs)
        self.assertNotIn("libcuda", libs)
        self.assertNotIn("libc", libs)
        for program in ("transformer_grad_check", "primitive_agreement"):
            if (BUILD / "tests" / "gpu" / program).exists():
                self.assertTrue((self.bundle / "bin" / program).exists(), program)

    def test_gpu_proof_without_a_gpu_says_so_and_skips(self):
        if shutil.which("nvidia-smi"):
            self.skipTest("this machine has nvidia-smi: the proof would run")
        with tempfile.TemporaryDirectory() as out:
            proc = subprocess.run(["env", "-i", "PATH=/usr/bin:/bin", "bash", str(self.bundle / "scripts" / "gpu-proof.sh"),
                                   out], capture_output=True, text=True, timeout=60, env=CLEAN_ENV)
            self.assertEqual(proc.returncode, 77, proc.stdout + proc.stderr)
            self.assertIn("no GPU on this machine", proc.stderr)
            self.assertIn("no GPU on this machine", (pathlib.Path(out) / "summary.txt").read_text())

    def test_every_library_resolves_inside_the_bundle(self):
        env = {"PATH": "/usr/bin:/bin", "LD_LIBRARY_PATH": str(self.bundle / "lib")}
        files = [p for p in self.bundle.rglob("*") if p.is_file() and not p.is_symlink() and is_elf(p)]
        self.assertGreater(len(files), 10)
        outside = []
        for f in files:
            listing = subprocess.run(["ldd", str(f)], capture_output=True, text=True, env=env)
            if "not a dynamic executable" in listing.stdout + listing.stderr:
                continue
            self.assertEqual(listing.returncode, 0, f"{f}: {listing.stderr}")
            for line in listing.stdout.splitlines():
                parts = line.split()
                if len(parts) < 3 or parts[1] != "=>":
                    continue
                name, where = parts[0], parts[2]
                if name.startswith(SYSTEM):
                    continue
                if where == "not" or not pathlib.Path(where).resolve().is_relative_to(self.bundle.resolve()):
                    outside.append(f"{f.relative_to(self.bundle)}: {name} => {where}")
        self.assertEqual(outside, [], "\n".join(outside))

    def test_list(self):
        run = self.run_bundled("rackqual", "list")
        self.assertEqual(run.returncode, 0, run.stdout + run.stderr)
        for kind in ("gemm", "hbm", "allreduce", "transformer_step"):
            self.assertIn(kind, run.stdout)

    def test_the_bundled_launcher_starts_the_bundled_proxy(self):
        run = self.run_bundled("mpiexec.mpich", "-n", "1", "sh", "-c", 'readlink -f "/proc/$PPID/exe"')
        self.assertEqual(run.returncode, 0, run.stdout + run.stderr)
        self.assertEqual(run.stdout.strip(), str((self.bundle / "bin" / "hydra_pmi_proxy").resolve()))

    def test_smoke_suite_on_two_ranks(self):
        out = pathlib.Path(self.tmp) / "results"
        run = self.run_bundled("mpiexec.mpich", "-n", "2", "rackqual", "run", str(self.bundle / "suites" / "smoke.yaml"),
                               "--backend", "host", "--out", str(out), timeout=600)
        self.assertEqual(run.returncode, 0, run.stdout + run.stderr)
        records = [json.loads(line) for line in next(out.glob("*/records.jsonl")).read_text().splitlines()]
        checks = {"gemm-fp32", "gemm-fp64", "hbm-copy", "hbm-triad", "allreduce-node", "p2p-node", "transformer-step"}
        self.assertEqual({r["check"] for r in records}, checks)
        self.assertEqual({r["rank"] for r in records if r["scope"] == "gpu"}, {0, 1})
        for r in records:
            self.assertIn(r["verdict"], ("pass", "warn"), r)
            self.assertTrue(r["correct"]["ok"], r)
        manifest = json.loads(next(out.glob("*/manifest.json")).read_text())
        self.assertEqual(manifest["platform"], "host")

    def test_profiles_come_from_the_bundle(self):
        # A suite outside the bundle finds its profile in the bundle's data folder (RACKQUAL_DATA_DIR),
        # not in the source tree this build was made from.
        suite = pathlib.Path(self.tmp) / "elsewhere" / "mine.yaml"
        suite.parent.mkdir(exist_ok=True)
        suite.write_text("name: mine\nplatform: bundled-only\nchecks:\n"
                         "  - {id: g, kind: gemm, params: {m: 64, n: 64, k: 64, dtype: fp32},"
                         " criteria: {tflops: {min_fraction_of_peak: 0.0001}}}\n")
        profile = self.bundle / "suites" / "platforms" / "bundled-only.yaml"
        profile.write_text("name: bundled-only\npeaks:\n  tflops_fp32: {value: 1, unit: TFLOP/s, source: test}\n")
        try:
            run = self.run_bundled("rackqual", "check", str(suite), "--backend", "host")
        finally:
            profile.unlink()
        self.assertEqual(run.returncode, 0, run.stdout + run.stderr)
        self.assertIn("platform bundled-only", run.stdout)


if __name__ == "__main__":
    unittest.main()
