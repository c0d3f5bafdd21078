"""python -m rackqual ingest | compare | report | sweep ...: the Python half of the rackqual CLI.

Exit codes, the same for every command (rackqual.errors): 0 success (all passed, nothing
regressed, the report written), 1 some check failed where the command judges (compare: something
regressed; sweep: a rack failed), 2 bad input or set-up (a missing, unreadable or malformed file or
folder, a wrong option: one line on stderr, `path: what is wrong`), 3 an error during the run (one
line on stderr, `rackqual COMMAND: error: what went wrong`).
"""
import sys

from rackqual.dependencies import explain
from rackqual.errors import EXIT_BAD_INPUT, EXIT_ERROR, BadInput, first_line, refuse


# Each command's module imported when it runs, not before: `ingest` needs no plotly, `report` no Slurm.
COMMANDS = {
    "ingest": lambda args: __import__("rackqual.history", fromlist=["cli"]).cli(args),
    "compare": lambda args: __import__("rackqual.fleet", fromlist=["compare_cli"]).compare_cli(args),
    "report": lambda args: __import__("rackqual.report", fromlist=["cli"]).cli(args),
    "sweep": lambda args: __import__("rackqual.sweep", fromlist=["cli"]).cli(args),
    "board": lambda args: __import__("rackqual.board_command", fromlist=["cli"]).cli(args),
}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        print(f"usage: python -m rackqual {{{','.join(COMMANDS)}}} ...", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        return COMMANDS[argv[0]](argv[1:])
    except BadInput as e:   # input a command found wrong past its own checks
        return refuse(e)
    except ImportError as e:   # a dependency that does not import: set-up, one line naming it
        print(explain(e), file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as e:   # anything else went wrong while it ran: one line, exit 3
        what = f"{type(e).__name__}: {first_line(e)}" if str(e).strip() else type(e).__name__
        print(f"rackqual {argv[0]}: error: {what}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
