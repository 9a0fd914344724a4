"""``python -m concur_nb.modal serve app.py``: the commands Modal users type, run locally."""

from __future__ import annotations

import argparse
import sys

from ._serve import main as serve


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m concur_nb.modal")
    commands = parser.add_subparsers(dest="command", required=True)
    serving = commands.add_parser("serve", help="serve an app file's web endpoints on 127.0.0.1")
    serving.add_argument("path", help="the app file, e.g. app.py or app.py::app")
    serving.add_argument("--host", default="127.0.0.1")
    serving.add_argument("--port", type=int, default=0, help="the first endpoint's port (0: free)")
    args = parser.parse_args(argv)
    return serve(args.path, host=args.host, port=args.port)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
