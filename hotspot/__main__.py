"""`python -m hotspot …` is `pocnet-hotspot …`."""

import sys

from hotspot.cli import main

sys.exit(main())
