#!/usr/bin/env bash
# The main experience: set up (scripts/setup.sh), then open JupyterLab on the tutorials.
# JupyterLab listens on 127.0.0.1 only; the URL it prints carries the login token.
#
#   bash scripts/lab.sh                  # port 8888 (or the next free one), opens a browser
#   bash scripts/lab.sh --no-browser     # extra arguments go to `jupyter lab`
#   CONCUR_NB_LAB_PORT=9999 bash scripts/lab.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
port=${CONCUR_NB_LAB_PORT:-8888}
token=${CONCUR_NB_LAB_TOKEN:-$(.venv/bin/python -c "import secrets; print(secrets.token_hex(24))")}
extra=()
[ "$(id -u)" -ne 0 ] || extra+=(--allow-root)  # containers often run as root
echo "lab: JupyterLab on the tutorials at http://127.0.0.1:${port}/lab?token=${token}"
echo "lab: (if port ${port} is taken, JupyterLab picks the next free one and prints its URL)"
exec .venv/bin/jupyter lab \
    --ServerApp.ip=127.0.0.1 \
    --ServerApp.port="$port" \
    --IdentityProvider.token="$token" \
    --ServerApp.root_dir="$PWD/notebooks" \
    "${extra[@]}" "$@"
