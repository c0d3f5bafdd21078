"""python -m rackqual ingest | compare | report | sweep ...: the Python half of the rackqual CLI."""
import sys


def main(argv: list[str]) -> int:
    commands = {
        "ingest": lambda args: __import__("rackqual.history", fromlist=["cli"]).cli(args),
        "compare": lambda args: __import__("rackqual.fleet", fromlist=["compare_cli"]).compare_cli(args),
        "report": lambda args: __import__("rackqual.report", fromlist=["cli"]).cli(args),
        "sweep": lambda args: __import__("rackqual.sweep", fromlist=["cli"]).cli(args),
    }
    if not argv or argv[0] not in commands:
        print(f"usage: python -m rackqual {{{','.join(commands)}}} ...", file=sys.stderr)
        return 2
    return commands[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
