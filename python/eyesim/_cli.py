"""The ``eyesim`` console script: the Rust command line, run in-process."""

import signal
import sys

from . import _native


def main() -> None:
    # The Rust code stops at Ctrl-C only with the default SIGINT action.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    sys.exit(_native.cli_main(["eyesim", *sys.argv[1:]]))
