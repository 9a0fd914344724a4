"""``python -m concur_nb.worker``: the far side of a process or SSH container.

It lives in ``concur_nb/_containers/worker.py``, beside the containers that start it; this
module only keeps the command that hosts (and their installed concur_nb) run.
"""

from ._containers.worker import main

if __name__ == "__main__":
    main()
