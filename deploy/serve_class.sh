#!/usr/bin/env bash
# Serve MADE Explorer to a whole class: N `streamlit run app.py` processes on loopback ports,
# nginx in front of them with sticky sessions (deploy/nginx.conf.template). Ctrl-C stops all.
#
#   deploy/serve_class.sh N PORT
#       N     number of streamlit processes (about one per 10-15 students, at most one per core)
#       PORT  the port the students' browsers open: http://<this machine>:PORT
#
# Environment (all optional):
#   MADE_VIZ_ADDRESS      address nginx listens on (default 0.0.0.0: the whole classroom network;
#                         127.0.0.1 for a test on this machine only)
#   MADE_VIZ_BACKEND_PORT first port of the streamlit processes (default PORT+1 ... PORT+N)
#   MADE_VIZ_THREADS      torch threads per process (default 1)
#   MADE_VIZ_TRAIN_SLOTS  training chunks one process runs at once (default: cores / N, at least 1)
#   MADE_VIZ_DATA_DIR     the folder of data files the students may pick from (nothing else is read)
#   MADE_VIZ_SESSION_TTL  seconds a closed tab's session (and its trained model) is kept so that a
#                         reconnect finds it (Streamlit's server.disconnectedSessionTTL; default 120)
#   NGINX                 the nginx binary (default: nginx on PATH, e.g. Debian's `apt-get install nginx`)
#
# Needs: python with the project installed (`pip install -e .`), nginx. Runs nginx in the
# foreground of this script with its own config, pid file and logs in a temporary folder; it does
# not touch the system's nginx service. Logs: $PREFIX/streamlit-<port>.log and $PREFIX/error.log.
set -euo pipefail

usage() { echo "usage: $0 N PORT   (e.g. $0 3 8500)" >&2; exit 2; }
[ $# -eq 2 ] || usage
N=$1; PORT=$2
[[ $N =~ ^[0-9]+$ ]] && [ "$N" -ge 1 ] && [ "$N" -le 64 ] || { echo "N must be 1..64, got '$N'" >&2; exit 2; }
[[ $PORT =~ ^[0-9]+$ ]] && [ "$PORT" -ge 1 ] && [ "$PORT" -le 65535 ] || { echo "PORT must be 1..65535, got '$PORT'" >&2; exit 2; }

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ADDRESS=${MADE_VIZ_ADDRESS:-0.0.0.0}
BASE=${MADE_VIZ_BACKEND_PORT:-$((PORT + 1))}
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
PYTHON=${PYTHON:-python3}
[ -x "$NGINX" ] || { echo "nginx not found (Debian: apt-get install -y nginx)" >&2; exit 2; }
[ $((BASE + N - 1)) -le 65535 ] || { echo "backend ports $BASE..$((BASE + N - 1)) out of range" >&2; exit 2; }

PREFIX=$(mktemp -d "${TMPDIR:-/tmp}/madeviz-class.XXXXXX")
mkdir -p "$PREFIX/tmp"
PIDS=()

cleanup() {
    trap - INT TERM EXIT
    echo "stopping nginx and $N streamlit process(es)..." >&2
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for _ in $(seq 50); do
        alive=0
        for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        [ $alive -eq 0 ] && break
        sleep 0.1
    done
    for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    echo "logs kept in $PREFIX" >&2
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# upload limit: Streamlit's own (from .streamlit/config.toml), plus room for the form encoding
UPLOAD_MB=$(sed -n 's/^[[:space:]]*maxUploadSize[[:space:]]*=[[:space:]]*\([0-9]*\).*/\1/p' "$ROOT/.streamlit/config.toml" | head -1)
UPLOAD_MB=$(( ${UPLOAD_MB:-200} + 1 ))

# 1. the streamlit processes, loopback only; together they train at most one chunk per core.
# Each runs under a small supervisor: a process that dies (out of memory, killed) is started again on
# its port, so the other processes' students see nothing and the dead one's students get a fresh
# session when their browser reconnects (their architecture comes back from the URL).
SLOTS=${MADE_VIZ_TRAIN_SLOTS:-$(( $(nproc) / N > 0 ? $(nproc) / N : 1 ))}
SERVERS=""
supervise() {
    local p=$1 child=""
    trap 'trap - TERM INT; [ -n "$child" ] && kill -TERM "$child" 2>/dev/null; wait; exit 0' TERM INT
    while true; do
        (cd "$ROOT" && exec env MADE_VIZ_THREADS="${MADE_VIZ_THREADS:-1}" MADE_VIZ_TRAIN_SLOTS="$SLOTS" STREAMLIT_BROWSER_GATHER_USAGE_STATS=false \
            "$PYTHON" -m streamlit run app.py --server.headless=true --server.address=127.0.0.1 \
            --server.port="$p" --server.fileWatcherType=none \
            --server.disconnectedSessionTTL="${MADE_VIZ_SESSION_TTL:-120}" \
            >> "$PREFIX/streamlit-$p.log" 2>&1) &
        child=$!
        wait "$child" && status=0 || status=$?
        echo "$(date '+%F %T') streamlit on port $p exited (status $status); starting it again" | tee -a "$PREFIX/restarts.log" >&2
        sleep 1
    done
}
for i in $(seq 0 $((N - 1))); do
    p=$((BASE + i))
    supervise "$p" &
    PIDS+=($!)
    SERVERS+="        server 127.0.0.1:$p max_fails=0;"$'\n'
done

for i in $(seq 0 $((N - 1))); do
    p=$((BASE + i))
    for t in $(seq 600); do
        if "$PYTHON" - "$p" <<'EOF' 2>/dev/null; then break; fi
import sys, urllib.request
sys.exit(0 if urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/_stcore/health", timeout=1).status == 200 else 1)
EOF
        [ -s "$PREFIX/restarts.log" ] && grep -q "port $p exited" "$PREFIX/restarts.log" && { echo "streamlit on port $p died:" >&2; tail -20 "$PREFIX/streamlit-$p.log" >&2; exit 1; }
        [ "$t" -eq 600 ] && { echo "streamlit on port $p did not start in 60 s" >&2; exit 1; }
        sleep 0.1
    done
done

# 2. nginx with the rendered config
USER_LINE=""
if [ "$(id -u)" -eq 0 ]; then
    WORKER=$(id -u www-data >/dev/null 2>&1 && echo www-data || echo nobody)
    USER_LINE="user $WORKER;"
    chmod 755 "$PREFIX"
    chown "$WORKER" "$PREFIX/tmp"
fi
CONF=$(<"$ROOT/deploy/nginx.conf.template")
CONF=${CONF//@PREFIX@/$PREFIX}
CONF=${CONF//@USER@/$USER_LINE}
CONF=${CONF//@LISTEN@/$ADDRESS:$PORT}
CONF=${CONF//@UPLOAD_MB@/$UPLOAD_MB}
CONF=${CONF//@SERVERS@/${SERVERS%$'\n'}}
printf '%s\n' "$CONF" > "$PREFIX/nginx.conf"
"$NGINX" -t -q -c "$PREFIX/nginx.conf" -p "$PREFIX" || { echo "nginx rejected $PREFIX/nginx.conf" >&2; exit 1; }
"$NGINX" -c "$PREFIX/nginx.conf" -p "$PREFIX" &
PIDS+=($!)

shown=$ADDRESS; [ "$ADDRESS" = 0.0.0.0 ] && shown=$(hostname -I 2>/dev/null | awk '{print $1}'); shown=${shown:-localhost}
echo "MADE Explorer for the class: http://$shown:$PORT  ($N streamlit process(es) on ports $BASE-$((BASE + N - 1)); Ctrl-C stops all)" >&2
echo "READY $PREFIX"   # machine-readable line for bench/load_test.py
wait -n "${PIDS[@]}" || true
echo "nginx or a supervisor stopped; shutting down the rest" >&2
