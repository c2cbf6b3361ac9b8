"""`python -m flowlab`: the flowlab command."""

import signal
import sys


def _interrupted(signum, frame):
    raise KeyboardInterrupt


# Until the command's own handlers are in place (flowlab.cli.main), Ctrl-C or SIGTERM while the
# command imports is one line and exit 130, as at any later point.
signal.signal(signal.SIGTERM, _interrupted)
try:
    from .cli import main
except KeyboardInterrupt:
    print("flowlab: interrupted", file=sys.stderr)
    sys.exit(130)

sys.exit(main())
