"""``python -m concur_nb.modal run app.py`` (and ``serve``): see ``concur_nb.modal._cli``."""

import sys

from ._cli import main

sys.exit(main())
