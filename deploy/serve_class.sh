#!/usr/bin/env bash
# Serve MADE Explorer to a whole class: N app processes (`python -m made_viz`, the warm launcher) on
# loopback ports, nginx in front of them with sticky sessions (deploy/nginx.conf.template). Ctrl-C stops all.
#
#   deploy/serve_class.sh N PORT
#       N     number of app processes on this machine (about one per 10-15 students, at most one per
#             core); 0 with MADE_VIZ_BACKENDS: nginx alone, in front of processes on other hosts
#       PORT  the port the students' browsers open: http://<this machine>:PORT
#
# Each process warms up before it listens (imports, one run of every page: `made_viz.launch`), so the
# first class burst does not queue behind imports; the script waits for every process's health check
# (up to MADE_VIZ_START_TIMEOUT seconds) before nginx accepts students.
#
# Environment (all optional):
#   MADE_VIZ_ADDRESS      address nginx listens on (default 0.0.0.0: the whole classroom network;
#                         127.0.0.1 for a test on this machine only)
#   MADE_VIZ_BACKEND_PORT first port of the app processes (default PORT+1 ... PORT+N)
#   MADE_VIZ_BACKENDS     more backends on other hosts, "host:port host:port ..." (each runs
#                         `made-viz app --class --port P`); nginx routes to them as to the local ones
#   MADE_VIZ_START_TIMEOUT seconds to wait for every backend's health check (default 300: N processes
#                         warm up at once on few cores)
#   MADE_VIZ_THREADS      torch threads per process (default 1)
#   MADE_VIZ_TRAIN_SLOTS  training chunks one process runs at once (default: cores / N, at least 1)
#   MADE_VIZ_DATA_DIR     the folder of data files the students may pick from (nothing else is read)
#   MADE_VIZ_MAX_WEIGHTS  per-session budget of weights x masks (default 10,000,000; made_viz/budget.py)
#   MADE_VIZ_SESSION_TTL  seconds a closed tab's session (and its trained model) is kept so that a
#                         reconnect finds it (Streamlit's server.disconnectedSessionTTL; default 120)
#   NGINX                 the nginx binary (default: nginx on PATH, e.g. Debian's `apt-get install nginx`)
#   PYTHON                the python that has the project installed (default python3)
#
# Needs: python with the project installed (`pip install -e .`), nginx. Runs nginx in the
# foreground of this script with its own config, pid file and logs in a temporary folder; it does
# not touch the system's nginx service. Logs: $PREFIX/streamlit-<port>.log and $PREFIX/error.log.
set -euo pipefail

usage() { echo "usage: $0 N PORT   (e.g. $0 3 8500)" >&2; exit 2; }
[ $# -eq 2 ] || usage
N=$1; PORT=$2
REMOTE=(${MADE_VIZ_BACKENDS:-})
[[ $N =~ ^[0-9]+$ ]] && [ "$N" -le 64 ] || { echo "N must be 0..64, got '$N'" >&2; exit 2; }
[ "$N" -ge 1 ] || [ ${#REMOTE[@]} -ge 1 ] || { echo "N must be at least 1 (or list MADE_VIZ_BACKENDS), got '$N'" >&2; exit 2; }
[[ $PORT =~ ^[0-9]+$ ]] && [ "$PORT" -ge 1 ] && [ "$PORT" -le 65535 ] || { echo "PORT must be 1..65535, got '$PORT'" >&2; exit 2; }
for b in "${REMOTE[@]}"; do
    [[ $b =~ ^[A-Za-z0-9._-]+:[0-9]+$ ]] || { echo "MADE_VIZ_BACKENDS entries must be host:port, got '$b'" >&2; exit 2; }
done

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ADDRESS=${MADE_VIZ_ADDRESS:-0.0.0.0}
BASE=${MADE_VIZ_BACKEND_PORT:-$((PORT + 1))}
START_TIMEOUT=${MADE_VIZ_START_TIMEOUT:-300}
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
PYTHON=${PYTHON:-python3}
[[ $START_TIMEOUT =~ ^[0-9]+$ ]] && [ "$START_TIMEOUT" -ge 1 ] || { echo "MADE_VIZ_START_TIMEOUT must be a whole number of seconds, got '$START_TIMEOUT'" >&2; exit 2; }
[ -x "$NGINX" ] || { echo "nginx not found (Debian: apt-get install -y nginx)" >&2; exit 2; }
[ $((BASE + N - 1)) -le 65535 ] || { echo "backend ports $BASE..$((BASE + N - 1)) out of range" >&2; exit 2; }

PREFIX=$(mktemp -d "${TMPDIR:-/tmp}/madeviz-class.XXXXXX")
mkdir -p "$PREFIX/tmp"
PIDS=()

cleanup() {
    trap - INT TERM EXIT
    echo "stopping nginx and $N app process(es)..." >&2
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

# 1. the app processes, loopback only; together they train at most one chunk per core.
# Each is the warm launcher (`python -m made_viz --port P`: imports and one run of every page before it
# listens) under a small supervisor: a process that dies (out of memory, killed) is started again on
# its port, so the other processes' students see nothing and the dead one's students get a fresh
# session when their browser reconnects (their architecture comes back from the URL).
SLOTS=${MADE_VIZ_TRAIN_SLOTS:-$(( N > 0 && $(nproc) / N > 0 ? $(nproc) / N : 1 ))}
SERVERS=""
BACKENDS=()
supervise() {
    local p=$1 child=""
    trap 'trap - TERM INT; [ -n "$child" ] && kill -TERM "$child" 2>/dev/null; wait; exit 0' TERM INT
    while true; do
        (cd "$ROOT" && exec env MADE_VIZ_THREADS="${MADE_VIZ_THREADS:-1}" MADE_VIZ_TRAIN_SLOTS="$SLOTS" \
            MADE_VIZ_SESSION_TTL="${MADE_VIZ_SESSION_TTL:-120}" STREAMLIT_BROWSER_GATHER_USAGE_STATS=false \
            "$PYTHON" -m made_viz --port "$p" \
            >> "$PREFIX/streamlit-$p.log" 2>&1) &
        child=$!
        wait "$child" && status=0 || status=$?
        echo "$(date '+%F %T') app process on port $p exited (status $status); starting it again" | tee -a "$PREFIX/restarts.log" >&2
        sleep 1
    done
}
for i in $(seq 0 $((N - 1))); do
    p=$((BASE + i))
    supervise "$p" &
    PIDS+=($!)
    BACKENDS+=("127.0.0.1:$p")
done
BACKENDS+=("${REMOTE[@]}")
HOST_MAP="" HOST_POOLS=""
for i in "${!BACKENDS[@]}"; do
    b=${BACKENDS[$i]}
    SERVERS+="        server $b max_fails=0;"$'\n'
    HOST_MAP+="        \"$b\" madeviz_$i;"$'\n'
    HOST_POOLS+="    upstream madeviz_$i {"$'\n'"        server $b max_fails=0;"$'\n'
    for o in "${BACKENDS[@]}"; do
        [ "$o" = "$b" ] || HOST_POOLS+="        server $o max_fails=0 backup;"$'\n'
    done
    HOST_POOLS+="    }"$'\n'
done

# wait until every backend answers its health check: the warm-ups run at the same time on few cores
healthy() {
    "$PYTHON" - "$1" <<'EOF' 2>/dev/null
import sys, urllib.request
sys.exit(0 if urllib.request.urlopen(f"http://{sys.argv[1]}/_stcore/health", timeout=2).status == 200 else 1)
EOF
}
deadline=$(( $(date +%s) + START_TIMEOUT ))
for b in "${BACKENDS[@]}"; do
    p=${b##*:}
    until healthy "$b"; do
        if [[ $b == 127.0.0.1:* ]] && [ $p -ge $BASE ] && [ $p -lt $((BASE + N)) ] && [ -s "$PREFIX/restarts.log" ] \
            && grep -q "port $p exited" "$PREFIX/restarts.log"; then
            echo "the app process on port $p died while starting:" >&2; tail -20 "$PREFIX/streamlit-$p.log" >&2; exit 1
        fi
        [ "$(date +%s)" -ge "$deadline" ] && { echo "backend $b did not answer its health check within $START_TIMEOUT s (MADE_VIZ_START_TIMEOUT)" >&2; exit 1; }
        sleep 0.5
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
CONF=${CONF//@HOST_MAP@/${HOST_MAP%$'\n'}}
CONF=${CONF//@HOST_POOLS@/${HOST_POOLS%$'\n'}}
printf '%s\n' "$CONF" > "$PREFIX/nginx.conf"
"$NGINX" -t -q -c "$PREFIX/nginx.conf" -p "$PREFIX" || { echo "nginx rejected $PREFIX/nginx.conf" >&2; exit 1; }
"$NGINX" -c "$PREFIX/nginx.conf" -p "$PREFIX" &
PIDS+=($!)
# nginx writes its pid file once it listens: only then is the class told to come in
for _ in $(seq 100); do [ -s "$PREFIX/nginx.pid" ] && break; sleep 0.1; done
[ -s "$PREFIX/nginx.pid" ] || { echo "nginx did not start: see $PREFIX/error.log" >&2; exit 1; }

shown=$ADDRESS; [ "$ADDRESS" = 0.0.0.0 ] && shown=$(hostname -I 2>/dev/null | awk '{print $1}'); shown=${shown:-localhost}
echo "MADE Explorer for the class: http://$shown:$PORT  (backends: ${BACKENDS[*]}; Ctrl-C stops all)" >&2
echo "READY $PREFIX"   # machine-readable line for bench/load_test.py
wait -n "${PIDS[@]}" || true
echo "nginx or a supervisor stopped; shutting down the rest" >&2
