"""Fleet analysis: statistics per check, metric, parameter point and GPU model; robust z-scores;
rack roll-ups; each GPU against its own history; the regressions between two sets of runs; a
ranked list of suspects with the evidence for each. The aggregation is DuckDB SQL over the history's
Parquet or over records loaded with rackqual.load.

A figure's subject is what it measures: a GPU by its serial number (so its history follows it
from slot to slot and host to host), or the node, rack or cluster group a collective measured.
Orientation: every z-score and drop here is signed so that negative z and positive drop are worse,
whichever way the metric is better (`better: lower`, e.g. step_time_s or time_us, gets worse upward).
"""
from __future__ import annotations

import datetime as _dt
import os
import pathlib
import sys
import warnings
from collections.abc import Iterable, Mapping

import duckdb
import pandas as pd
import pyarrow as pa

import rackqual
from rackqual import history as _history
from rackqual.errors import EXIT_BAD_INPUT, EXIT_FAIL, EXIT_PASS, ArgumentParser, BadInput, first_line, refuse

Source = str | os.PathLike | pd.DataFrame

# The robust z-score: (x - median) / (1.4826 * MAD), 1.4826 making the MAD a standard deviation
# for normal data (named once, in the harness the criteria judge by). Fleet practice: below -2
# investigate, below -3 drain.
MAD_SCALE = rackqual._core.MAD_TO_STANDARD_DEVIATION
Z_INVESTIGATE = -2.0
Z_DRAIN = -3.0
MAX_DROP_FROM_BASELINE = 0.05
# No single figure outweighs this many pieces of evidence of weight 1 (a fail, z = -3, a drop at its criterion).
EVIDENCE_CAP = 5.0

# One row per record, with the figure's subject and orientation. Host backends and GPUs whose
# serial cannot be read have no serial: their identity is then host + device index, which names
# the slot, not the GPU (it does not follow a GPU that moves).
_FIGURES = """
SELECT run_id, time, CAST(date AS DATE) AS date, suite, "check", scope, metric, params AS point,
       coalesce(device.name, '') AS model, unit, better, CASE better WHEN 'lower' THEN -1.0 ELSE 1.0 END AS sign,
       CASE WHEN device.serial IS NOT NULL THEN device.serial
            WHEN scope = 'gpu' AND device.index IS NOT NULL THEN host || '/gpu' || CAST(device.index AS VARCHAR)
            WHEN scope = 'gpu' THEN host
            ELSE scope || ':' || "group" END AS subject,
       device.serial AS serial, host, rack, "group", value, verdict, reason, {side} AS side
FROM {relation}
"""


def _dates(dates: Iterable | None) -> list[str] | None:
    if dates is None:
        return None
    if isinstance(dates, (str, _dt.date)):
        dates = [dates]
    out = []
    for d in dates:
        try:
            out.append(_dt.date.fromisoformat(str(d)).isoformat())
        except ValueError:
            raise BadInput(f"{d}: not a date (YYYY-MM-DD)") from None
    return out


def _in_dates(dates: list[str]) -> str:
    """SQL: the figure's date is one of `dates` (none: false)."""
    if not dates:
        return "false"
    return "date IN (" + ", ".join(f"DATE '{d}'" for d in dates) + ")"


class _Sources:
    """The sources of one analysis in one DuckDB connection: each a relation of records (a
    history's view, or a registered table of loaded records)."""

    def __init__(self, config: dict | None):
        self.con = duckdb.connect(config=config or {})
        self.histories: dict[pathlib.Path, str] = {}   # history -> the prefix of its views
        self.count = 0

    def relation(self, source: Source) -> tuple[str, bool]:
        """The relation holding `source`'s records, and whether it is a history."""
        if isinstance(source, pd.DataFrame):
            return self._register(source), False
        path = pathlib.Path(source)
        if _history.is_history(path):
            key = path.resolve()
            if key not in self.histories:
                self.histories[key] = f"h{len(self.histories)}_"
                try:
                    _history.attach(self.con, path, self.histories[key])
                except duckdb.Error as e:   # its runs files are not Parquet DuckDB can read
                    raise BadInput(f"{path}: {first_line(e)}") from None
            return f"{self.histories[key]}records", True
        if not path.exists():
            raise BadInput(f"{path}: no such file or folder")
        try:
            frame = rackqual.load(path)
        except Exception as e:   # whatever the loader cannot read is bad input here
            raise BadInput(f"{path}: {first_line(e)}") from None
        if not len(frame):
            raise BadInput(f"{path}: no records")
        return self._register(frame), False

    def _register(self, frame: pd.DataFrame) -> str:
        self.count += 1
        name = f"loaded{self.count}"
        self.con.register(name, _history.to_table(frame))
        return name

    def latest_date(self, relation: str) -> str | None:
        runs = relation.removesuffix("records") + "runs"
        row = self.con.execute(f"SELECT CAST(max(date) AS VARCHAR) FROM {runs}").fetchone()
        return row[0] if row else None

    def close(self) -> None:
        self.con.close()


def _selection(sources: _Sources, source: Source, dates, name: str) -> None:
    """Creates the view `name` of figures of `source`, restricted to `dates` where given; side 'new'."""
    relation, _ = sources.relation(source)
    where = f" WHERE {_in_dates(dates)}" if dates is not None else ""
    sources.con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS " +
                        _FIGURES.format(side="'new'", relation=relation) + where)


def _population_stats(view: str) -> str:
    """SQL: median, MAD and spread per check, metric, point and GPU model of the figures in `view`."""
    return f"""
SELECT "check", metric, point, model, any_value(scope) AS scope, any_value(unit) AS unit,
       any_value(better) AS better, any_value(sign) AS sign, count(*) AS n, median(value) AS median,
       mad(value) AS mad, quantile_cont(value, 0.1) AS p10, quantile_cont(value, 0.9) AS p90,
       min(value) AS min, max(value) AS max
FROM {view} WHERE value IS NOT NULL AND isfinite(value)
GROUP BY "check", metric, point, model"""


def _with(source: Source, dates, config: dict | None, sql: str) -> pd.DataFrame:
    sources = _Sources(config)
    try:
        _selection(sources, source, _dates(dates), "f")
        return sources.con.execute(sql).df()
    finally:
        sources.close()


def fleet_stats(source: Source, *, dates=None, config: dict | None = None) -> pd.DataFrame:
    """Per check, metric, parameter point and GPU model (model empty for group figures): count,
    median, MAD, p10, p90, min and max of the figures of `source` (a history, results tree, run
    folder, records file or loaded DataFrame), of `dates` only where given."""
    return _with(source, dates, config, _population_stats("f") + ' ORDER BY "check", metric, point, model')


def zscores(source: Source, *, dates=None, config: dict | None = None) -> pd.DataFrame:
    """Every figure with its population's median and MAD and its robust z-score, oriented so that
    negative is worse (NaN where the MAD is 0)."""
    return _with(source, dates, config, f"""
WITH s AS ({_population_stats('f')})
SELECT f.run_id, f."check", f.metric, f.point, f.model, f.subject, f.serial, f.host, f.rack, f."group",
       f.value, f.unit, f.better, s.median, s.mad,
       f.sign * (f.value - s.median) / nullif({MAD_SCALE} * s.mad, 0) AS z
FROM f JOIN s USING ("check", metric, point, model)
WHERE f.value IS NOT NULL AND isfinite(f.value)
ORDER BY z NULLS LAST""")


def _rack_sql(view: str, population: str | None = None) -> str:
    """SQL: each rack's median against the fleet's and the racks'; the fleet medians from
    `population` (a relation of _population_stats) where given, else computed again."""
    fleet = (f'SELECT "check", metric, point, model, median AS fleet_median FROM {population}' if population else
             f'SELECT "check", metric, point, model, median(value) AS fleet_median\n'
             f'  FROM {view} WHERE value IS NOT NULL AND isfinite(value) GROUP BY "check", metric, point, model')
    return f"""
WITH r AS (
  SELECT "check", metric, point, model, rack, any_value(sign) AS sign, any_value(unit) AS unit,
         count(*) AS n, median(value) AS rack_median
  FROM {view} WHERE value IS NOT NULL AND isfinite(value) GROUP BY "check", metric, point, model, rack),
 fleet AS ({fleet}),
 spread AS (
  SELECT "check", metric, point, model, median(rack_median) AS racks_median, mad(rack_median) AS racks_mad,
         count(*) AS racks
  FROM r GROUP BY "check", metric, point, model)
SELECT r."check", r.metric, r.point, r.model, r.rack, r.n, r.unit, r.rack_median, fleet.fleet_median,
       r.rack_median / nullif(fleet.fleet_median, 0) AS ratio, spread.racks,
       r.sign * (r.rack_median - spread.racks_median) / nullif({MAD_SCALE} * spread.racks_mad, 0) AS z
FROM r JOIN fleet USING ("check", metric, point, model) JOIN spread USING ("check", metric, point, model)"""


def rack_rollup(source: Source, *, dates=None, config: dict | None = None) -> pd.DataFrame:
    """Per check, metric, point, GPU model and rack: the rack's median against the fleet's (ratio),
    and its robust z-score among the racks' medians (negative is worse)."""
    return _with(source, dates, config, _rack_sql("f") + " ORDER BY z NULLS LAST")


# ---------------------------------------------------------------------------------------------
# Regressions: each subject against its own baseline


def _criteria_table(max_drop_from_baseline: float | Mapping[str, float]) -> pa.Table:
    """Criteria as rows (check, metric, max_drop): a number for every metric, or a mapping of
    "METRIC" or "CHECK/METRIC" to a number, with "*" for the rest (default 0.05)."""
    if not isinstance(max_drop_from_baseline, Mapping):
        max_drop_from_baseline = {"*": max_drop_from_baseline}
    rows = []
    for key, value in max_drop_from_baseline.items():
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise BadInput(f"{key}: max_drop_from_baseline: not a number: {value}") from None
        if not value >= 0:
            raise BadInput(f"{key}: max_drop_from_baseline: must be 0 or more: {value}")
        check, _, metric = key.rpartition("/")
        rows.append({"check": check or None, "metric": None if metric == "*" else metric, "max_drop": value})
    if not any(r["check"] is None and r["metric"] is None for r in rows):
        rows.append({"check": None, "metric": None, "max_drop": MAX_DROP_FROM_BASELINE})
    return pa.table({"check": pa.array([r["check"] for r in rows], pa.string()),
                     "metric": pa.array([r["metric"] for r in rows], pa.string()),
                     "max_drop": pa.array([r["max_drop"] for r in rows], pa.float64())})


def _sides(sources: _Sources, old: Source, new: Source, old_dates, new_dates) -> None:
    """The view `f` of figures with side 'old' or 'new'. A history given as both is read once: new
    is its latest date unless dates are given; old is what came before new (each subject's own
    history) unless dates are given. A history given as old alone loses the runs of new."""
    old_rel, old_is_history = sources.relation(old)
    new_rel, new_is_history = sources.relation(new)
    old_dates, new_dates = _dates(old_dates), _dates(new_dates)
    if new_is_history and new_dates is None:
        latest = sources.latest_date(new_rel)
        new_dates = [latest] if latest else []
    new_where = _in_dates(new_dates) if new_dates is not None else "true"
    con = sources.con
    if old_rel == new_rel:
        if old_dates is None:
            first = con.execute(f"SELECT min(time) FROM {new_rel} WHERE {new_where}").fetchone()[0]
            old_where = f"time < {_timestamp(first)}" if first is not None else "false"
        else:
            old_where = _in_dates(old_dates)
        side = f"CASE WHEN {new_where} THEN 'new' WHEN {old_where} THEN 'old' END"
        sql = f"SELECT * FROM ({_FIGURES.format(side=side, relation=new_rel)}) WHERE side IS NOT NULL"
        con.execute(f"CREATE OR REPLACE TEMP VIEW f AS {sql}")
        return
    new_sql = _FIGURES.format(side="'new'", relation=new_rel) + f" WHERE {new_where}"
    old_where = _in_dates(old_dates) if old_dates is not None else "true"
    if old_is_history and old_dates is None:
        con.execute(f"CREATE OR REPLACE TEMP TABLE new_runs AS SELECT DISTINCT run_id FROM ({new_sql})")
        first = con.execute(f"SELECT min(time) FROM ({new_sql})").fetchone()[0]
        old_where = "run_id NOT IN (SELECT run_id FROM new_runs)"
        if first is not None:
            old_where += f" AND time < {_timestamp(first)}"
    old_sql = _FIGURES.format(side="'old'", relation=old_rel) + f" WHERE {old_where}"
    con.execute(f"CREATE OR REPLACE TEMP VIEW f AS {old_sql} UNION ALL BY NAME {new_sql}")


def _timestamp(value) -> str:
    return f"TIMESTAMPTZ '{pd.Timestamp(value).isoformat()}'"


# Regressions in two passes. The first keeps the figures (check, metric, point, subject) that may
# have dropped more than the loosest criterion, from cheap aggregates only: medians lie between the
# minimum and the maximum, so the largest drop the old and new figures allow bounds the drop of
# their medians (exact when each side has one figure, as night against night). It groups by a
# 64-bit hash of the key (cheaper than four strings over millions of rows; a collision could only
# add or hide a candidate, about one chance in 10^7 at 5 million figures). The second pass takes
# the medians and all the detail of the candidates only.
_CANDIDATES = """
CREATE OR REPLACE TEMP TABLE candidates AS
SELECT k FROM (
  SELECT hash("check", metric, point, subject) AS k, any_value(sign) AS sign,
         min(value) FILTER (WHERE side = 'old') AS old_min, max(value) FILTER (WHERE side = 'old') AS old_max,
         min(value) FILTER (WHERE side = 'new') AS new_min, max(value) FILTER (WHERE side = 'new') AS new_max
  FROM f WHERE value IS NOT NULL AND isfinite(value) GROUP BY k)
WHERE old_min IS NOT NULL AND new_min IS NOT NULL AND (
  old_min <= 0 OR new_min <= 0 OR
  CASE WHEN sign > 0 THEN 1 - new_min / old_max ELSE new_max / old_min - 1 END > (SELECT min(max_drop) FROM criteria))"""

_REGRESSIONS = """
WITH a AS (
  SELECT "check", metric, point, subject, any_value(scope) AS scope, any_value(unit) AS unit,
         any_value(better) AS better, any_value(sign) AS sign,
         median(value) FILTER (WHERE side = 'old') AS old,
         count(*) FILTER (WHERE side = 'old') AS old_runs,   -- a run gives one figure per subject and point
         arg_max(host, time) FILTER (WHERE side = 'old') AS old_host,
         median(value) FILTER (WHERE side = 'new') AS new,
         arg_max(run_id, time) FILTER (WHERE side = 'new') AS run_id,
         arg_max(serial, time) FILTER (WHERE side = 'new') AS serial,
         arg_max(model, time) FILTER (WHERE side = 'new') AS model,
         arg_max(host, time) FILTER (WHERE side = 'new') AS host,
         arg_max(rack, time) FILTER (WHERE side = 'new') AS rack,
         arg_max("group", time) FILTER (WHERE side = 'new') AS "group"
  FROM f WHERE value IS NOT NULL AND isfinite(value) AND hash("check", metric, point, subject) IN (SELECT k FROM candidates)
  GROUP BY "check", metric, point, subject
  HAVING count(*) FILTER (WHERE side = 'old') > 0 AND count(*) FILTER (WHERE side = 'new') > 0),
 d AS (
  SELECT a.*, a.sign * (a.old - a.new) / nullif(abs(a.old), 0) AS drop,
         coalesce(c1.max_drop, c2.max_drop, c3.max_drop, c4.max_drop) AS max_drop
  FROM a
  LEFT JOIN criteria c1 ON c1."check" = a."check" AND c1.metric = a.metric
  LEFT JOIN criteria c2 ON c2."check" IS NULL AND c2.metric = a.metric
  LEFT JOIN criteria c3 ON c3."check" = a."check" AND c3.metric IS NULL
  LEFT JOIN criteria c4 ON c4."check" IS NULL AND c4.metric IS NULL)
SELECT "check", metric, point AS params, scope, subject, serial, model, host, rack, "group", old, old_runs,
       old_host, new, unit, better, drop, max_drop, 'max_drop_from_baseline: ' || CAST(max_drop AS VARCHAR) AS criterion,
       run_id
FROM d WHERE drop > max_drop AND old_runs >= $min_runs
ORDER BY drop / nullif(max_drop, 0) DESC NULLS FIRST, "check", metric, subject"""


def compare(old: Source, new: Source, *, max_drop_from_baseline: float | Mapping[str, float] = MAX_DROP_FROM_BASELINE,
            old_dates=None, new_dates=None, min_runs: int = 1, config: dict | None = None) -> pd.DataFrame:
    """What regressed from `old` to `new`: for each subject (GPU by serial, or node/rack group),
    check, metric and parameter point, the median of its old figures (its baseline over old_runs
    runs, wherever it sat) against its new figure; a regression when the drop, oriented by
    `better`, exceeds max_drop_from_baseline (a number, or {"METRIC" or "CHECK/METRIC": number,
    "*": default}). old and new: results trees, run folders, records files, DataFrames of
    rackqual.load, or a history (see _sides for what a history stands for). One row per
    regression, worst first: check, metric, params, scope, subject, serial, model, host, rack,
    group, old (baseline median), old_runs, old_host (where it last ran before), new, unit,
    better, drop, max_drop, criterion (as text), run_id (the new run)."""
    sources = _Sources(config)
    try:
        _sides(sources, old, new, old_dates, new_dates)
        sources.con.register("criteria", _criteria_table(max_drop_from_baseline))
        sources.con.execute(_CANDIDATES)
        return sources.con.execute(_REGRESSIONS.replace("$min_runs", str(int(min_runs)))).df()
    finally:
        sources.close()


# ---------------------------------------------------------------------------------------------
# Suspects


_EVIDENCE = """
CREATE TEMP TABLE evidence AS
WITH s AS ({stats}),
 z AS (
  SELECT f.subject, f.serial, f.host, f.rack, f."check", f.metric, f.point, f.value, f.unit, s.median, f.model,
         f.sign * (f.value - s.median) / nullif({scale} * s.mad, 0) AS z
  FROM f JOIN s USING ("check", metric, point, model)
  WHERE f.side = 'new' AND f.value IS NOT NULL AND isfinite(f.value))
SELECT subject, serial, host, rack, least(-z / 3.0, {cap}) AS weight, z,
       printf('fleet outlier: %s %s %s = %.4g %s, z = %.1f against the %s median %.4g',
              "check", metric, point, value, coalesce(unit, ''), z, CASE WHEN model = '' THEN 'fleet' ELSE model END, median) AS evidence
FROM z WHERE z < {investigate}
UNION ALL
SELECT subject, serial, host, rack, 1.0 AS weight, NULL AS z,
       printf('verdict %s: %s %s %s: %s', verdict, "check", coalesce(metric, ''), point, coalesce(reason, '')) AS evidence
FROM f WHERE side = 'new' AND verdict IN ('fail', 'error')
"""

_RACK_EVIDENCE = """
INSERT INTO evidence
SELECT 'rack:' || rack AS subject, NULL, NULL, rack, least(-z / 3.0, {cap}), z,
       printf('rack outlier: %s %s %s rack median %.4g %s, %.1f%% of the fleet median, z = %.1f among %d racks',
              "check", metric, point, rack_median, coalesce(unit, ''), 100 * ratio, z, racks)
FROM ({racks}) WHERE z < {drain} AND racks >= 3
"""


def suspects(new: Source, baseline: Source | None = None, *, dates=None, baseline_dates=None,
             max_drop_from_baseline: float | Mapping[str, float] = MAX_DROP_FROM_BASELINE,
             config: dict | None = None) -> pd.DataFrame:
    """Subjects (GPUs by serial, nodes, racks) ranked by the weight of the evidence against them in
    `new` (a history: its latest date unless `dates`): fleet outliers (robust z below -2, weight
    -z/3), failed or errored verdicts (1 each), racks whose median is an outlier among the racks'
    (z below -3), and, with a `baseline` (the same history for each subject's own past, or other
    results), regressions from it (weight drop / criterion). Columns: rank, subject, serial, host,
    rack, score, worst_z, evidence (list of text, heaviest first)."""
    sources = _Sources(config)
    try:
        con = sources.con
        if baseline is not None:
            _sides(sources, baseline, new, baseline_dates, dates)
        else:
            rel, is_history = sources.relation(new)
            dates = _dates(dates)
            if is_history and dates is None:
                latest = sources.latest_date(rel)
                dates = [latest] if latest else []
            where = f" WHERE {_in_dates(dates)}" if dates is not None else ""
            con.execute("CREATE OR REPLACE TEMP VIEW f AS " + _FIGURES.format(side="'new'", relation=rel) + where)
        # Each analysis below reads the sources again, a few columns at a time, and keeps only its
        # aggregates: a table of every figure would hold the history's text in memory (4.6 GiB at
        # 11 million records), more than reading the Parquet again costs.
        con.execute("CREATE OR REPLACE TEMP VIEW fn AS SELECT * FROM f WHERE side = 'new'")
        con.execute(f"CREATE TEMP TABLE population AS {_population_stats('fn')}")
        con.execute(_EVIDENCE.format(stats="SELECT * FROM population", scale=MAD_SCALE, investigate=Z_INVESTIGATE,
                                     cap=EVIDENCE_CAP))
        con.execute(_RACK_EVIDENCE.format(racks=_rack_sql("fn", "population"), drain=Z_DRAIN, cap=EVIDENCE_CAP))
        if baseline is not None:
            con.register("criteria", _criteria_table(max_drop_from_baseline))
            con.execute(_CANDIDATES)
            con.execute(f"""
INSERT INTO evidence
SELECT subject, serial, host, rack, least(drop / nullif(max_drop, 0), {EVIDENCE_CAP}), NULL,
       printf('regressed: %s %s %s %.4g -> %.4g %s (%.1f%% worse than its baseline over %d run(s)%s; %s)',
              "check", metric, params, old, new, coalesce(unit, ''), 100 * drop, old_runs,
              CASE WHEN old_host IS DISTINCT FROM host THEN ', then on ' || old_host ELSE '' END, criterion)
FROM ({_REGRESSIONS.replace('$min_runs', '1')})""")
        return con.execute("""
SELECT row_number() OVER (ORDER BY sum(weight) DESC, min(z) NULLS LAST, subject) AS rank, subject,
       any_value(serial) AS serial, any_value(host) AS host, any_value(rack) AS rack, sum(weight) AS score,
       min(z) AS worst_z, list(evidence ORDER BY weight DESC) AS evidence
FROM evidence GROUP BY subject ORDER BY rank""").df()
    finally:
        sources.close()


# ---------------------------------------------------------------------------------------------
# python -m rackqual compare OLD NEW


def _parse_drops(values: list[str]) -> float | dict[str, float]:
    drops: dict[str, float] = {}
    for value in values:
        key, eq, number = value.rpartition("=")
        try:
            drops[key if eq else "*"] = float(number)
        except ValueError:
            raise BadInput(f"--max-drop: not a number: {value}") from None
    return drops or MAX_DROP_FROM_BASELINE


def _compare_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="rackqual compare",
        description="Lists what regressed from OLD to NEW: each GPU (by serial), node and rack against its own "
                    "baseline. OLD and NEW: results trees, run folders, records files or a history; a history as "
                    "NEW stands for its latest date, as OLD too for everything before it. Exit 0 nothing "
                    "regressed, 1 something did, 2 bad input.")
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--max-drop", action="append", default=[], metavar="[[CHECK/]METRIC=]FRACTION",
                        help=f"max_drop_from_baseline, for every metric or one (default {MAX_DROP_FROM_BASELINE}); repeatable")
    parser.add_argument("--old-date", action="append", metavar="YYYY-MM-DD", help="dates of a history to take as OLD")
    parser.add_argument("--new-date", action="append", metavar="YYYY-MM-DD", help="dates of a history to take as NEW")
    parser.add_argument("--min-runs", type=int, default=1, help="old runs a baseline needs (default 1)")
    parser.add_argument("--top", type=int, default=50, help="regressions to print (default 50; all go to --csv)")
    parser.add_argument("--csv", metavar="FILE", help="write every regression to FILE")
    return parser


def compare_cli(argv: list[str]) -> int:
    """python -m rackqual compare OLD NEW: exit 0 nothing regressed, 1 something did, 2 bad input (OLD
    or NEW missing, unreadable or without records, a wrong option, a --csv file that cannot be written)."""
    try:
        args = _compare_parser().parse_args(argv)
    except SystemExit as e:   # --help
        return EXIT_BAD_INPUT if e.code else EXIT_PASS
    except BadInput as e:
        return refuse(e)
    try:
        if args.csv and not pathlib.Path(args.csv).resolve().parent.is_dir():
            raise BadInput(f"{args.csv}: no such folder: {pathlib.Path(args.csv).parent}")
        with warnings.catch_warnings(record=True) as caught:   # lines the loader skipped: one line each, below
            warnings.simplefilter("always")
            found = compare(args.old, args.new, max_drop_from_baseline=_parse_drops(args.max_drop),
                            old_dates=args.old_date, new_dates=args.new_date, min_runs=args.min_runs)
        if args.csv:
            _write_csv(found, args.csv)
    except (BadInput, FileNotFoundError) as e:
        return refuse(e)
    except duckdb.Error as e:
        return refuse(BadInput(f"{args.old} / {args.new}: {first_line(e)}"))
    _say_warnings(caught)
    return _print_regressions(found, args)


def _say_warnings(caught: list[warnings.WarningMessage]) -> None:
    """The loader's word on the lines it skipped as one line each on stderr; other warnings as Python says them."""
    for w in caught:
        if str(w.message).startswith("rackqual: skipped"):
            print(first_line(w.message), file=sys.stderr)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def _write_csv(found: pd.DataFrame, path: str) -> None:
    try:
        found.to_csv(path, index=False)
    except OSError as e:
        raise BadInput(f"{path}: {e.strerror or first_line(e)}") from None


def _print_regressions(found: pd.DataFrame, args) -> int:
    """The regressions, worst first, the first --top of them; exit 1 when there is one, else 0."""
    if found.empty:
        print(f"nothing regressed from {args.old} to {args.new}")
        return EXIT_PASS
    shown = found.head(args.top)
    with pd.option_context("display.max_rows", None, "display.max_columns", None, "display.width", 200,
                           "display.max_colwidth", 60):
        print(shown[["check", "metric", "subject", "host", "rack", "old", "old_runs", "new", "unit", "drop",
                     "criterion", "params"]].to_string(index=False))
    print(f"{len(found)} regression(s) from {args.old} to {args.new}" +
          (f" ({len(shown)} shown)" if len(shown) < len(found) else ""))
    return EXIT_FAIL
