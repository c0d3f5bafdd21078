"""rackqual sweep: the nightly fleet sweep under Slurm.

One job per rack (the template suites/slurm/nightly.sbatch) on the rack's hosts, one rank per GPU,
every rack at once, each run into its own RUN_ID folder of one results tree. When every job has
ended: the night's runs into the history, the regressions against each subject's earlier nights,
the hosts to drain, and a summary, printed and written as TREE/sweeps/STAMP.json (the jobs' logs
beside it, in TREE/sweeps/STAMP/).

A rack's outcome, and the sweep's exit code (the worst rack's: the largest):
    pass 0          its run finished, every verdict pass (or warn)
    fail 1          its run finished with a fail verdict
    not_assessed 2  sbatch refused the job, or the run stopped on bad input
    error 3         its run finished with an error verdict, or its watchdog aborted it
    died 3          its job ended without its run finishing (killed, timed out, its node down): what
                    it wrote whole is ingested and its run marked incomplete, never taken as a pass
A run that could not be ingested makes the sweep's code at least 2.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import os
import pathlib
import re
import shutil
import subprocess
import threading
import time
import warnings

import pandas as pd

import rackqual
from rackqual import _core, fleet, frames, history
from rackqual import summary as _summary
from rackqual.errors import EXIT_BAD_INPUT, EXIT_PASS, ArgumentParser, BadInput, first_line, refuse

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _suites() -> pathlib.Path:
    """The suites folder: an installed package's (beside it), else the source tree's."""
    installed = pathlib.Path(__file__).resolve().parent / "data" / "suites"
    return installed if installed.is_dir() else ROOT / "suites"


TEMPLATE = _suites() / "slurm" / "nightly.sbatch"
SUITE = _suites() / "nightly.yaml"
CODES = {"pass": 0, "fail": 1, "not_assessed": 2, "error": 3, "died": 3}
BY_EXIT = {0: "pass", 1: "fail", 2: "not_assessed", 3: "error"}
# How long past its time limit a job may take to start and end before the sweep cancels it.
GRACE_S = 600
# The template's own time limit, when --time-limit does not give one.
DEFAULT_TIME_LIMIT = "01:00:00"


@dataclasses.dataclass
class Rack:
    name: str
    hosts: list[str]
    gpus: int   # on each host: one rank per GPU


@dataclasses.dataclass
class Job:
    """One rack's sbatch --wait, as it went."""
    rack: Rack
    log: pathlib.Path
    job_id: str | None = None
    sbatch_rc: int | None = None
    sbatch_error: str = ""
    cancelled: str = ""   # why the sweep cancelled it (it outran its wait)


def time_limit_s(text: str) -> int:
    """Slurm's time formats in seconds: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S."""
    match = re.fullmatch(r"(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?", text.strip())
    if not match:
        raise BadInput(f"--time-limit: not a Slurm time (M, M:S, H:M:S, D-H, D-H:M, D-H:M:S): {text}")
    days, a, b, c = (int(x) if x else None for x in match.groups())
    if days is not None:   # D-H[:M[:S]]
        return days * 86400 + a * 3600 + (b or 0) * 60 + (c or 0)
    if c is not None:
        return a * 3600 + b * 60 + c
    return a * 60 + (b or 0)


def racks_of(inventory: pathlib.Path, names: list[str] | None) -> list[Rack]:
    """The inventory's racks (or those named), each with its hosts and GPUs per host."""
    try:
        listed = _core.load_inventory(str(inventory))
    except (ValueError, RuntimeError) as e:
        raise BadInput(str(e).splitlines()[0]) from None
    by_name = {r["name"]: r for r in listed["racks"]}
    unknown = [n for n in names or [] if n not in by_name]
    if unknown:
        raise BadInput(f"{inventory}: racks: no rack named {', '.join(unknown)} (it lists {', '.join(by_name)})")
    racks = []
    for name in dict.fromkeys(names) if names else by_name:
        hosts = by_name[name]["hosts"]
        counts = sorted({h["gpus"] for h in hosts})
        if len(counts) > 1:   # one job, one --ntasks-per-node
            raise BadInput(f"{inventory}: racks[{name}]: hosts with {' and '.join(map(str, counts))} GPUs: "
                           "a rack's job runs as many ranks on each host (split the rack)")
        racks.append(Rack(name, [h["name"] for h in hosts], counts[0]))
    return racks


def _rackqual_binary() -> str:
    chosen = os.environ.get("RACKQUAL_BIN") or shutil.which("rackqual")
    if chosen:
        return str(pathlib.Path(chosen).resolve())
    built = pathlib.Path(os.environ.get("RACKQUAL_BUILD", ROOT / "build")) / "rackqual"
    return str(built) if built.exists() else "rackqual"


def _job_environment(suite: pathlib.Path, inventory: pathlib.Path, results: pathlib.Path, run_args: list[str]) -> dict:
    """The environment sbatch exports to the job: ours, less the variables of a Slurm job this sweep may
    run in (scrontrol), plus the template's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_") or k == "SLURM_CONF"}
    env.update(SUITE=str(suite), INVENTORY=str(inventory), RESULTS=str(results), RACKQUAL=_rackqual_binary(),
               RUN_ARGS=" ".join(run_args))
    return env


def _wait(job: Job, command: list[str], env: dict, wait_s: float) -> None:
    """Runs sbatch --wait for one rack; cancels the job when it outruns `wait_s`."""
    try:
        proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                stdin=subprocess.DEVNULL)
    except OSError as e:
        job.sbatch_error = f"{command[0]}: {e.strerror}"
        return
    first = proc.stdout.readline().strip()   # --parsable: "JOBID" or "JOBID;CLUSTER" as soon as it is queued
    if re.fullmatch(r"\d+(;\S+)?", first):
        job.job_id = first.split(";")[0]
    try:
        proc.wait(timeout=wait_s)
    except subprocess.TimeoutExpired:
        job.cancelled = f"still pending or running {wait_s:.0f} s after submission"
        if job.job_id:
            _scancel(job.job_id)
        proc.kill()
        proc.wait()
    job.sbatch_rc = proc.returncode
    job.sbatch_error = " ".join(proc.stderr.read().split())[-500:]


def _scancel(job_id: str) -> None:
    subprocess.run(["scancel", job_id], capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    for _ in range(120):   # until its processes are gone: nothing of it writes into the tree after this
        proc = subprocess.run(["squeue", "-h", "-j", job_id, "-o", "%T"], capture_output=True, text=True, timeout=60)
        if not proc.stdout.strip() or proc.stdout.strip() in ("COMPLETED", "CANCELLED", "FAILED", "TIMEOUT"):
            return
        time.sleep(1)


def job_state(job_id: str) -> dict:
    """The ended job's state, exit code and signal, from slurmctld (no accounting needed: it keeps an
    ended job for MinJobAge, 300 s by default); empty when it no longer knows the job."""
    try:
        proc = subprocess.run(["scontrol", "show", "job", "-o", job_id], capture_output=True, text=True, timeout=60,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return {}
    state = re.search(r"\bJobState=(\S+)", proc.stdout)
    code = re.search(r"\bExitCode=(\d+):(\d+)", proc.stdout)
    reason = re.search(r"\bReason=(\S+)", proc.stdout)
    if not state:
        return {}
    return {"state": state.group(1), "exit_code": int(code.group(1)) if code else None,
            "signal": int(code.group(2)) if code else None, "reason": reason.group(1) if reason else None}


def _manifest(folder: pathlib.Path) -> dict | None:
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


def runs_of(tree: pathlib.Path, before: set[str], racks: list[Rack]) -> dict[str, list[pathlib.Path]]:
    """The run folders the night's jobs made in `tree` (not there before), by rack: a run belongs to
    the rack whose hosts it ran on (its manifest's hosts; the rack's nodes are its job's alone)."""
    owner = {h: r.name for r in racks for h in r.hosts}
    found: dict[str, list[pathlib.Path]] = {r.name: [] for r in racks}
    for folder in sorted(p for p in tree.iterdir() if p.is_dir() and p.name not in before and p.name != "sweeps"):
        manifest = _manifest(folder)
        hosts = manifest.get("hosts") if manifest else None
        if not isinstance(hosts, list):
            continue
        racks_seen = {owner.get(h) for h in hosts}
        if len(racks_seen) == 1 and None not in racks_seen:
            found[racks_seen.pop()].append(folder)
    return found


def _load(folder: pathlib.Path) -> pd.DataFrame:
    with warnings.catch_warnings():   # lines cut by a kill are counted in attrs["skipped"]
        warnings.simplefilter("ignore")
        return rackqual.load(folder / "records.jsonl") if (folder / "records.jsonl").exists() else pd.DataFrame()


def _log_tail(path: pathlib.Path, lines: int = 3) -> str:
    try:
        return " | ".join(line.strip() for line in path.read_text(errors="replace").splitlines()[-lines:] if line.strip())
    except OSError:
        return ""


def rack_outcome(job: Job, state: dict, folders: list[pathlib.Path], frame: pd.DataFrame) -> dict:
    """One rack's outcome: what its job and its run say, and what the run kept."""
    out = {"rack": job.rack.name, "hosts": job.rack.hosts, "job_id": job.job_id, "log": str(job.log),
           "job_state": state.get("state"), "exit_code": state.get("exit_code"), "signal": state.get("signal"),
           "run_id": None, "run": None, "manifest_status": None, "records": int(len(frame)),
           "verdicts": _summary.verdict_counts(frame) if len(frame) else {}, "skipped_lines": len(frame.attrs.get("skipped", [])),
           "last_check": str(frame["check"].iloc[-1]) if len(frame) else None}
    if out["exit_code"] is None and job.sbatch_rc is not None and not job.cancelled:
        out["exit_code"] = job.sbatch_rc   # slurmctld forgot the job: sbatch --wait passes its exit code on
    if job.job_id is None:
        return dict(out, status="not_assessed",
                    reason=f"sbatch refused the job: {job.sbatch_error or f'exit {job.sbatch_rc}'}")
    if len(folders) > 1:
        return dict(out, status="error", reason=f"its job made {len(folders)} runs: {', '.join(f.name for f in folders)}")
    ended = f"job {job.job_id} {state.get('state') or 'ended'}" + \
        (f" (exit {out['exit_code']}, signal {out['signal']})" if out["exit_code"] is not None else "") + \
        (f", cancelled by the sweep: {job.cancelled}" if job.cancelled else "")
    if not folders:
        log = _log_tail(job.log)
        if not job.cancelled and state.get("state") in ("COMPLETED", "FAILED", None) and not out["signal"] \
                and out["exit_code"] == 2:
            return dict(out, status="not_assessed", reason=f"{ended} before any run: {log}")
        return dict(out, status="died", reason=f"{ended} before its run began" + (f": {log}" if log else ""))
    folder = folders[0]
    manifest = _manifest(folder) or {}
    out.update(run_id=folder.name, run=str(folder), manifest_status=manifest.get("status"))
    kept = f"{out['records']} whole record(s)" + (f", last check {out['last_check']}" if out["last_check"] else "") + \
        (f", {out['skipped_lines']} cut line(s) skipped" if out["skipped_lines"] else "")
    if manifest.get("status") not in ("finished", "aborted"):
        return dict(out, status="died", reason=f"{ended}; its run never finished (manifest: {manifest.get('status')}); kept {kept}")
    exit_status = manifest.get("exit_status")
    status = "error" if manifest["status"] == "aborted" else BY_EXIT.get(exit_status, "error")
    return dict(out, status=status, reason=f"run {manifest['status']}, exit {exit_status}; {ended}")


def drains(frame: pd.DataFrame) -> list[dict]:
    """The hosts to drain: each host with a fail or error verdict of its own (a GPU or node figure,
    or isolation's culprit), with every check and figure against it."""
    if not len(frame):
        return []
    found = _summary.problems(frames.tidy(frame))
    scope = frames.column(found, "scope").astype("string")
    own = (found["problem"] == "culprit") | (found["problem"].isin(["fail", "error"]) & scope.isin(["gpu", "node"]).fillna(False))
    hosts: dict[str, dict] = {}
    for _, row in found[own.to_numpy()].iterrows():
        host = frames.text(row.get("host"))
        if not host:
            continue
        entry = hosts.setdefault(host, {"host": host, "rack": frames.text(row.get("rack")), "evidence": []})
        entry["evidence"].append({
            "check": frames.text(row.get("check")), "metric": frames.text(row.get("metric")),
            "value": None if pd.isna(row.get("value")) else float(row.get("value")), "unit": frames.text(row.get("unit")),
            "verdict": "fail" if row["problem"] == "culprit" else row["problem"], "where": row["where"],
            "reason": frames.text(row.get("reason"))})
    return sorted(hosts.values(), key=lambda h: (h["rack"], h["host"]))


def regressions(hist: pathlib.Path, frame: pd.DataFrame) -> list[dict]:
    """What regressed tonight against each subject's earlier nights in the history."""
    if not len(frame):
        return []
    found = fleet.compare(hist, frame)
    keep = ["check", "metric", "params", "subject", "host", "rack", "old", "old_runs", "new", "unit", "drop", "criterion"]
    return json.loads(found[keep].to_json(orient="records"))


def sweep(inventory: pathlib.Path, results: pathlib.Path, hist: pathlib.Path, *, suite: pathlib.Path = SUITE,
          racks: list[str] | None = None, partition: str | None = None, sbatch_args: list[str] = (),
          time_limit: str | None = None, run_args: list[str] = (), template: pathlib.Path = TEMPLATE) -> dict:
    """Submits a job per rack, waits for all, ingests, compares; returns the summary (its `exit_code`
    the sweep's). Raises BadInput before submitting anything when the input is wrong."""
    inventory, results, hist, suite, template = (pathlib.Path(p).resolve() for p in (inventory, results, hist, suite, template))
    chosen, limit_s = _check_input(inventory, results, hist, suite, template, racks, time_limit)
    started = _dt.datetime.now(_dt.timezone.utc)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    logs = results / "sweeps" / stamp
    try:
        logs.mkdir(parents=True, exist_ok=True)
    except OSError as e:   # a results tree it cannot write: nothing submitted
        raise BadInput(f"{results}: {e.strerror or first_line(e)}") from None
    before = {p.name for p in results.iterdir()}
    env = _job_environment(suite, inventory, results, list(run_args))
    jobs = [Job(rack, logs / f"{rack.name}.out") for rack in chosen]
    _run_jobs(jobs, [_sbatch_command(job, partition, time_limit, sbatch_args, template) for job in jobs], env,
              limit_s + GRACE_S)

    outcomes, kept, ingested = _outcomes(jobs, runs_of(results, before, chosen), hist)
    night = pd.concat(kept, ignore_index=True) if kept else pd.DataFrame()
    regressed, problems = _night_regressions(hist, night)
    code = max([CODES[o["status"]] for o in outcomes] or [2])
    if ingested["errors"]:
        code = max(code, 2)
    out = {"sweep": stamp, "started": started.isoformat(), "ended": _dt.datetime.now(_dt.timezone.utc).isoformat(),
           "inventory": str(inventory), "suite": str(suite), "results": str(results), "history": str(hist),
           "racks": outcomes, "history_ingest": ingested, "regressions": regressed,
           "drain": drains(night), "problems": problems, "exit_code": code}
    out["summary"] = str(_write_summary(results / "sweeps" / f"{stamp}.json", out))
    return out


def _check_input(inventory: pathlib.Path, results: pathlib.Path, hist: pathlib.Path, suite: pathlib.Path,
                 template: pathlib.Path, racks: list[str] | None, time_limit: str | None) -> tuple[list[Rack], int]:
    """The racks to sweep and each job's time limit in seconds, once the sweep's input is found usable."""
    for path, what in ((suite, "suite"), (template, "sbatch template")):
        if not path.is_file():
            raise BadInput(f"{path}: no such file (the {what})")
        try:
            path.open("rb").close()
        except OSError as e:
            raise BadInput(f"{path}: {e.strerror or first_line(e)} (the {what})") from None
    chosen = racks_of(inventory, racks)
    limit_s = time_limit_s(time_limit or DEFAULT_TIME_LIMIT)
    for path, what in ((results, "results tree"), (hist, "history")):
        if path.exists() and not path.is_dir():
            raise BadInput(f"{path}: not a folder (the {what})")
    if shutil.which("sbatch") is None:
        raise BadInput("sbatch: not found (the sweep submits its jobs to Slurm)")
    return chosen, limit_s


def _sbatch_command(job: Job, partition: str | None, time_limit: str | None, sbatch_args: list[str],
                    template: pathlib.Path) -> list[str]:
    """sbatch --wait of one rack's job: its nodes, a rank per GPU, its log."""
    rack = job.rack
    command = ["sbatch", "--parsable", "--wait", f"--job-name=rackqual-nightly-{rack.name}",
               f"--nodelist={','.join(rack.hosts)}", f"--nodes={len(rack.hosts)}",
               f"--ntasks-per-node={rack.gpus}", f"--output={job.log}", "--export=ALL"]
    command += [f"--partition={partition}"] if partition else []
    command += [f"--time={time_limit}"] if time_limit else []
    return command + list(sbatch_args) + [str(template)]


def _run_jobs(jobs: list[Job], commands: list[list[str]], env: dict, wait_s: float) -> None:
    """Every rack's job at once, each waited for in a thread of its own, until all have ended."""
    threads = []
    for job, command in zip(jobs, commands):
        thread = threading.Thread(target=_wait, args=(job, command, env, wait_s), daemon=True)
        thread.start()
        threads.append(thread)
    try:
        for thread in threads:
            thread.join()
    except KeyboardInterrupt:   # the sweep stopped: none of its jobs runs on unwatched
        for job in jobs:
            if job.job_id:
                _scancel(job.job_id)
        raise


def _outcomes(jobs: list[Job], found: dict[str, list[pathlib.Path]], hist: pathlib.Path
              ) -> tuple[list[dict], list[pd.DataFrame], dict]:
    """Each rack's outcome, the records of the runs that kept any, and what went into the history."""
    outcomes, kept = [], []
    ingested = {"runs_added": [], "incomplete": [], "skipped_lines": 0, "errors": []}
    for job in jobs:
        folders = found[job.rack.name]
        frame = _load(folders[0]) if len(folders) == 1 else pd.DataFrame()
        outcome = rack_outcome(job, job_state(job.job_id) if job.job_id else {}, folders, frame)
        if outcome["run"] and len(frame):
            outcome["ingested"] = _ingest_run(outcome["run"], hist, ingested)
            kept.append(frame)
        outcomes.append(outcome)
    return outcomes, kept, ingested


def _ingest_run(run: str, hist: pathlib.Path, ingested: dict) -> bool:
    """One run into the history, its own ingest: one that cannot be read never holds back another."""
    try:
        done = history.ingest(run, hist, running=True)
    except (OSError, ValueError) as e:
        ingested["errors"].append(f"{run}: {first_line(e)}")
        return False
    ingested["runs_added"] += done.runs_added
    ingested["incomplete"] += done.incomplete
    ingested["skipped_lines"] += len(done.skipped)
    return True


def _night_regressions(hist: pathlib.Path, night: pd.DataFrame) -> tuple[list[dict], list[str]]:
    """The night's regressions against the history, and why none are listed where they cannot be."""
    try:
        return (regressions(hist, night) if history.is_history(hist) else []), []
    except (BadInput, OSError, ValueError) as e:
        return [], [f"{hist}: regressions not listed: {first_line(e)}"]


def _write_summary(path: pathlib.Path, out: dict) -> pathlib.Path:
    """The summary as JSON, written whole (a reader never sees half; never through a link)."""
    try:
        _core.write_file_whole(str(path), json.dumps(out, indent=2, default=str) + "\n")
    except _core.SetupError as e:
        raise OSError(str(e)) from None
    return path


def lines(out: dict) -> list[str]:
    """The summary as a crew reads it."""
    text = [f"sweep {out['sweep']}: {len(out['racks'])} rack(s), suite {out['suite']}"]
    for r in out["racks"]:
        counts = ", ".join(f"{n} {v}" for v, n in r["verdicts"].items() if n)
        text.append(f"  {r['rack']:<12} {r['status']:<13} {r['records']} record(s)" + (f" ({counts})" if counts else "") +
                    (f", run {r['run_id']}" if r["run_id"] else "") + f": {r['reason']}")
    h = out["history_ingest"]
    text.append(f"history {out['history']}: {len(h['runs_added'])} run(s) added" +
                (f", {len(h['incomplete'])} incomplete" if h["incomplete"] else "") +
                (f", {h['skipped_lines']} cut line(s) skipped" if h["skipped_lines"] else ""))
    text += [f"  not ingested: {e}" for e in h["errors"]]
    text.append(f"regressions against earlier nights: {len(out['regressions'])}")
    for g in out["regressions"][:20]:
        text.append(f"  {g['check']} {g['metric']} {g['subject']} ({g['host']}, {g['rack']}): {g['old']:.4g} -> "
                    f"{g['new']:.4g} {g['unit'] or ''}, {100 * g['drop']:.1f}% worse ({g['criterion']})")
    text.append(f"hosts to drain: {len(out['drain'])}")
    for d in out["drain"]:
        first = d["evidence"][0]
        value = "" if first["value"] is None else f" = {frames.number(first['value'], first['unit'])}"
        more = f" (+{len(d['evidence']) - 1} more)" if len(d["evidence"]) > 1 else ""
        text.append(f"  {d['host']} ({d['rack']}): {first['verdict']} {first['check']} {first['metric']}{value}: "
                    f"{first['reason']}{more}")
    text += out["problems"]
    text.append(f"exit {out['exit_code']}; summary {out.get('summary', '')}")
    return text


# ---------------------------------------------------------------------------------------------
# python -m rackqual sweep --inventory INV --results TREE --history HIST


def cli(argv: list[str]) -> int:
    """python -m rackqual sweep --inventory INV --results TREE --history HIST: the worst rack's exit code
    (see the module's description); 2 with one line on stderr, before anything is submitted, on bad
    input (an inventory, suite or template missing or malformed, a results tree or history that is not
    a folder, a wrong option, no sbatch)."""
    parser = ArgumentParser(
        prog="rackqual sweep",
        description="The nightly fleet sweep: a Slurm job per rack (all at once) into one results tree, then the "
                    "night's runs into the history, regressions, hosts to drain, and a summary "
                    "(TREE/sweeps/STAMP.json). Exit 0 all racks pass, 1 a rack failed, 2 could not assess, "
                    "3 a rack's run errored or its job died.")
    parser.add_argument("--inventory", required=True, help="inventory YAML: the racks and their hosts (Slurm node names)")
    parser.add_argument("--results", required=True, metavar="TREE", help="the shared results tree (every host sees it)")
    parser.add_argument("--history", required=True, metavar="HIST", help="the Parquet history (created if missing)")
    parser.add_argument("--suite", default=str(SUITE), help="suite YAML (default suites/nightly.yaml)")
    parser.add_argument("--rack", action="append", metavar="R", help="only this rack (repeatable; default every rack)")
    parser.add_argument("--partition", metavar="P", help="Slurm partition")
    parser.add_argument("--sbatch-arg", action="append", default=[], metavar="ARG",
                        help="one more sbatch argument, written --sbatch-arg=--qos=night (repeatable)")
    parser.add_argument("--run-arg", action="append", default=[], metavar="ARG",
                        help="one more `rackqual run` word, written --run-arg=--backend --run-arg=cuda (repeatable)")
    parser.add_argument("--time-limit", metavar="TIME",
                        help=f"each job's Slurm time limit (default the template's, {DEFAULT_TIME_LIMIT})")
    parser.add_argument("--template", default=str(TEMPLATE), help="the sbatch template (default suites/slurm/nightly.sbatch)")
    try:
        args = parser.parse_args(argv)
        out = sweep(pathlib.Path(args.inventory), pathlib.Path(args.results), pathlib.Path(args.history),
                    suite=pathlib.Path(args.suite), racks=args.rack, partition=args.partition,
                    sbatch_args=args.sbatch_arg, time_limit=args.time_limit, run_args=args.run_arg,
                    template=pathlib.Path(args.template))
    except SystemExit as e:   # --help
        return EXIT_BAD_INPUT if e.code else EXIT_PASS
    except BadInput as e:
        return refuse(e)
    print("\n".join(lines(out)))
    return out["exit_code"]
