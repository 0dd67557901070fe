"""`python -m annotui.cli`: the same as the `annotui` command."""

import sys

from annotui.cli import main

sys.exit(main())
