"""`python -m flowlab`: the flowlab command."""

import sys

from .cli import main

sys.exit(main())
