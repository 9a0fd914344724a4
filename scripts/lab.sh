#!/usr/bin/env bash
# The main experience: open JupyterLab on the tutorials, installing only what that needs
# (a .venv with concur_nb, its notebook extra and JupyterLab; no system packages: the test
# tools, sshd and chromium, come with scripts/setup.sh). JupyterLab listens on 127.0.0.1 only;
# the URL it prints carries the login token.
#
#   bash scripts/lab.sh                  # port 8888 (or the next free one), opens a browser
#   bash scripts/lab.sh --no-browser     # extra arguments go to `jupyter lab`
#   CONCUR_NB_LAB_PORT=9999 bash scripts/lab.sh
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    echo "lab: creating .venv with $($python --version) (needs python3-venv)"
    "$python" -m venv .venv
fi
# setup.sh's stamp means everything (the test extra holds the lab's); else our own.
if ! ls .venv/.installed-* >/dev/null 2>&1; then
    stamp=.venv/.lab-installed-$(sha1sum pyproject.toml | cut -c1-12)
    if [ ! -f "$stamp" ]; then
        echo "lab: installing concur-nb with its notebook extra and JupyterLab into .venv"
        .venv/bin/python -m pip install -q --upgrade pip
        .venv/bin/python -m pip install -q -e ".[lab]"
        rm -f .venv/.lab-installed-*
        touch "$stamp"
    fi
fi

# JupyterLab's defaults for this environment: no news prompt or update check (a toast in the
# corner covered the dashboards). Users' own settings still win over these.
overrides=.venv/share/jupyter/lab/settings/overrides.json
if [ ! -f "$overrides" ]; then
    mkdir -p "$(dirname "$overrides")"
    cat >"$overrides" <<'JSON'
{
  "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": false}
}
JSON
fi

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
    --LabApp.news_url= \
    "${extra[@]}" "$@"
