"""`python3 scripts/dlab <command>`: run the launcher from a checkout, nothing to install."""

import os
import sys

# Run as a folder, sys.path[0] is this package's own folder; the package needs its parent.
here = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
sys.path.insert(0, os.path.dirname(here))

from dlab.cli import main

sys.exit(main())
