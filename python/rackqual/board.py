"""The bring-up board: the whole cluster's state from its inventory and its history, as a bring-up
lead reads it in the morning.

For every rack the inventory lists: its state (rackqual.board_states: never tested, qualifying,
qualified, failed, re-qualified, regressed, undecided) with the run that decided it and the days
since, its hosts and GPUs in each state, and the parts to pull (hosts and links named as culprits
and not qualified since). Across the cluster: GPUs qualified per day, the progress against the
inventory's GPUs, the median time from a rack's first test to its qualification, and the racks
that failed more than once. Every state is derived from the records `qualify`, the nightly sweeps
and any other run wrote into the history (rackqual.board_evidence); the board writes nothing back.

`rackqual.board(INV, HIST)` gives the racks as a DataFrame; `assess` the whole board
(rackqual.board_racks.Board). The command, `python -m rackqual board --inventory INV --history HIST
-o board.html [--prom FILE]`, is rackqual.board_command's.
"""
from __future__ import annotations

import os
import typing

import pandas as pd

from rackqual.board_states import State

if typing.TYPE_CHECKING:
    from rackqual.board_racks import Board

__all__ = ["State", "assess", "board"]


def assess(inventory: str | os.PathLike, history: str | os.PathLike, *, as_of: pd.Timestamp | str | None = None
           ) -> Board:
    """The whole board (rackqual.board_racks.Board): each rack's timeline, its hosts' and GPUs', its parts
    to pull, and the cluster's progress. BadInput (`path: what is wrong`) when an input cannot be read."""
    from rackqual import board_racks   # DuckDB only once a board is assessed: `import rackqual` stays light
    return board_racks.assess(inventory, history, as_of=as_of)


def board(inventory: str | os.PathLike, history: str | os.PathLike, *, as_of: pd.Timestamp | str | None = None
          ) -> pd.DataFrame:
    """One row per rack the inventory lists: rack, state (a State, which reads as its text), since,
    days_in_state, detail (the state in a sentence, with the culprits named), decided_by (the run),
    qualified_on, qualified_by, first_tested, failures (failed qualifications and regressions),
    hosts, gpus, hosts_STATE and gpus_STATE (how many in each state), parts_to_pull. attrs: cluster,
    gpus, gpus_qualified, median_days_to_qualified, failed_more_than_once, not_in_inventory, as_of."""
    return assess(inventory, history, as_of=as_of).frame()
