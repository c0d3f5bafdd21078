"""python -m rackqual board --inventory INV --history HIST -o board.html [--prom FILE] [--as-of TIME]:
the bring-up board (rackqual.board) written as one self-contained HTML page (rackqual.board_page)
and, with --prom, a textfile of its gauges for node_exporter (rackqual.board_prom), with the board
in a few lines on the console. Exit 0 once written, whatever the racks' states; 2 on bad input, one
line on stderr (`path: what is wrong`), nothing written.
"""
from __future__ import annotations

import pathlib

import pandas as pd

from rackqual import _core, board_page, board_prom
from rackqual.board import assess
from rackqual.board_racks import Board, duration
from rackqual.board_states import State
from rackqual.errors import EXIT_BAD_INPUT, EXIT_PASS, ArgumentParser, BadInput, first_line, refuse

__all__ = ["lines", "cli"]


def lines(b: Board) -> list[str]:
    """The board in a few lines for the console."""
    counts = {s: sum(1 for r in b.racks if r.state is s) for s in State}
    median, n = b.median_days_to_qualified()
    out = [f"board {b.inventory.cluster}: {len(b.racks)} rack(s), {b.gpus_qualified()} of {b.inventory.gpus} GPUs "
           f"in qualified racks; " + ", ".join(f"{n} {s.label}" for s, n in counts.items() if n)]
    out += [f"  {r.rack.name:<12} {r.state.label:<13} {r.detail()}" for r in b.racks]
    out.append(f"parts to pull: {len(b.parts)}")
    out += [f"  {p.rack:<12} {p.label}: {p.evidence[0]}" for p in b.parts]
    if median is not None:
        out.append(f"median from first test to qualified: {duration(median)} over {n} rack(s)")
    again = b.failed_more_than_once()
    if again:
        out.append("failed more than once: " + ", ".join(f"{r.rack.name} ({len(r.line.failures)})" for r in again))
    if b.strangers:
        out.append("records of racks the inventory does not list: " + ", ".join(b.strangers))
    return out


def _output(path: str | None, what: str) -> pathlib.Path | None:
    """An output path whose folder exists and that is not a folder itself."""
    if path is None:
        return None
    out = pathlib.Path(path)
    if not out.parent.is_dir():
        raise BadInput(f"{out}: no such folder: {out.parent} (the {what})")
    if out.is_dir():
        raise BadInput(f"{out}: a folder, not a file (the {what})")
    return out


def _write(path: pathlib.Path, text: str) -> None:
    """Writes a whole file as every rackqual file is written (never half, never through a link)."""
    try:
        _core.write_file_whole(str(path), text)
    except _core.SetupError as e:
        raise BadInput(first_line(e)) from None


def cli(argv: list[str]) -> int:
    """python -m rackqual board --inventory INV --history HIST -o board.html [--prom FILE]: exit 0 once
    written, whatever the racks' states; 2 on bad input (the inventory or history missing, unreadable
    or malformed, an output whose folder is missing, a wrong option), one line on stderr, nothing written."""
    parser = ArgumentParser(prog="rackqual board",
                            description="The bring-up board: every rack's state, its hosts and GPUs, the parts to "
                                        "pull, and the cluster's progress, from the inventory and the history.")
    parser.add_argument("--inventory", required=True, help="the inventory YAML: racks, hosts, GPUs per host")
    parser.add_argument("--history", required=True, metavar="HIST", help="the Parquet history (rackqual ingest)")
    parser.add_argument("-o", "--output", default="board.html", help="the HTML page (default board.html)")
    parser.add_argument("--prom", metavar="FILE",
                        help="also write the board's gauges here, a textfile for node_exporter (*.prom)")
    parser.add_argument("--as-of", metavar="TIME", help="the board as of this time (ISO 8601, UTC; default now)")
    parser.add_argument("--title", help="the page's title")
    try:
        args = parser.parse_args(argv)
        output, prom = _output(args.output, "page"), _output(args.prom, "Prometheus textfile")
        b = assess(args.inventory, args.history, as_of=_as_of(args.as_of))
        _write(output, board_page.build(b, title=args.title))
        if prom is not None:
            _write(prom, board_prom.textfile(b))
    except SystemExit as e:   # --help
        return EXIT_BAD_INPUT if e.code else EXIT_PASS
    except BadInput as e:
        return refuse(e)
    print("\n".join(lines(b)))
    print(f"board: {output}" + (f"\nprometheus: {prom}" if prom else ""))
    return EXIT_PASS


def _as_of(value: str | None) -> pd.Timestamp | None:
    if value is None:
        return None
    try:
        return pd.Timestamp(value)
    except ValueError as e:
        raise BadInput(f"rackqual board: --as-of: not a time: {value} ({first_line(e)})") from None
