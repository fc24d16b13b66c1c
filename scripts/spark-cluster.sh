#!/usr/bin/env bash
# A local Spark standalone cluster for kefu (docs/scale.md): one master and 2 workers (1 core, 1g each) from the
# pyspark package of the virtualenv, all on 127.0.0.1 only, on free ports.
#
#   scripts/spark-cluster.sh start    start it (or say it runs); the last line printed is the master's URL
#   scripts/spark-cluster.sh status   the URL and each process; exit code 3 when it is not running
#   scripts/spark-cluster.sh stop     stop every process it started (and the executors they run)
#
#   kefu kpi WS --engine spark --master "$(scripts/spark-cluster.sh status | tail -1)"
#
# Settings (environment): KEFU_SPARK_CLUSTER_DIR (pid files, logs, work folders; default
# ${TMPDIR:-/tmp}/kefu-spark-cluster-$USER, outside the source tree and the virtualenv), KEFU_SPARK_WORKERS (2),
# KEFU_SPARK_WORKER_CORES (1), KEFU_SPARK_WORKER_MEMORY (1g), KEFU_SPARK_CLUSTER_WAIT (seconds to wait for the
# master and the workers, 60), KEFU_PYTHON (the Python whose pyspark runs it; default .venv/bin/python).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${KEFU_PYTHON:-$ROOT/.venv/bin/python}"
BASE="${KEFU_SPARK_CLUSTER_DIR:-${TMPDIR:-/tmp}/kefu-spark-cluster-${USER:-$(id -un)}}"
WORKERS="${KEFU_SPARK_WORKERS:-2}"
CORES="${KEFU_SPARK_WORKER_CORES:-1}"
MEMORY="${KEFU_SPARK_WORKER_MEMORY:-1g}"
WAIT="${KEFU_SPARK_CLUSTER_WAIT:-60}"
HOST=127.0.0.1
export SPARK_LOCAL_IP=$HOST # every listening socket (RPC, block manager, web UIs) on loopback only

die() {
	echo "spark-cluster: $*" >&2
	exit 1
}

# Whether a process this script started still runs (a killed one nobody reaped yet is a zombie: not running).
alive() {
	local file="$BASE/$1.pid" state
	[ -f "$file" ] || return 1
	state=$(ps -o stat= -p "$(cat "$file")" 2>/dev/null) || return 1
	[[ $state != Z* ]]
}

# Whether any process of the group a daemon leads still runs (its executors, when the daemon itself is gone).
group_alive() {
	ps -e -o pgid=,stat= | awk -v g="$1" '$1 == g && $2 !~ /^Z/ { found = 1 } END { exit !found }'
}

names() {
	echo master
	for i in $(seq 1 "$WORKERS"); do echo "worker$i"; done
}

free_port() {
	"$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Start a daemon in its own process group (its pid is the group's id), logging to $BASE/logs/NAME.log.
launch() {
	local name=$1
	shift
	setsid "$SPARK_HOME/bin/spark-class" "$@" </dev/null >"$BASE/logs/$name.log" 2>&1 &
	echo $! >"$BASE/$name.pid"
}

# Wait until `check` succeeds, at most $WAIT seconds, failing with the log of `name` when its process died.
wait_for() {
	local what=$1 name=$2
	shift 2
	local deadline=$((SECONDS + WAIT))
	until "$@"; do
		alive "$name" || die "$name stopped while waiting for $what; its log ($BASE/logs/$name.log) ends:
$(tail -n 20 "$BASE/logs/$name.log")"
		[ $SECONDS -lt $deadline ] || die "no $what within ${WAIT}s (KEFU_SPARK_CLUSTER_WAIT); logs in $BASE/logs"
		sleep 0.5
	done
}

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }
registered() { [ "$(grep -c 'Registering worker' "$BASE/logs/master.log" 2>/dev/null)" -ge "$WORKERS" ]; }

status() {
	local running=0 stopped=0
	for name in $(names); do
		if alive "$name"; then
			echo "$name: running (pid $(cat "$BASE/$name.pid"))"
			running=$((running + 1))
		else
			echo "$name: not running"
			stopped=$((stopped + 1))
		fi
	done
	if [ $stopped -eq 0 ]; then
		cat "$BASE/master.url"
		return 0
	fi
	return 3
}

stop() {
	local name pid
	for name in $(names | tac); do # the workers first, so the master does not wait for them
		[ -f "$BASE/$name.pid" ] || continue
		pid=$(cat "$BASE/$name.pid")
		kill -TERM -- "-$pid" 2>/dev/null || true # the group: the daemon and the executors it launched
	done
	local deadline=$((SECONDS + 15))
	for name in $(names); do
		[ -f "$BASE/$name.pid" ] || continue
		pid=$(cat "$BASE/$name.pid")
		while group_alive "$pid" && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
		kill -KILL -- "-$pid" 2>/dev/null || true
		rm -f "$BASE/$name.pid"
	done
	rm -f "$BASE/master.url"
	echo "stopped"
}

start() {
	if status >/dev/null; then
		tail -n 1 < <(status)
		return 0
	fi
	stop >/dev/null # what is left of an earlier run
	[ -x "$PY" ] || die "no Python at $PY: run make install, or set KEFU_PYTHON"
	SPARK_HOME="$("$PY" -c 'import pyspark, os; print(os.path.dirname(pyspark.__file__))')" ||
		die "pyspark is not installed in $PY: make install (pip install -e '.[spark]')"
	export SPARK_HOME
	if [ -z "${JAVA_HOME:-}" ] && ! command -v java >/dev/null; then
		die "no Java runtime: run scripts/ensure-java.sh (make install does), or set JAVA_HOME"
	fi
	mkdir -p "$BASE/logs" "$BASE/conf"
	export SPARK_CONF_DIR="$BASE/conf" # no spark-defaults.conf of the machine changes what runs here
	export SPARK_LOG_DIR="$BASE/logs"

	local port web
	port=$(free_port)
	web=$(free_port)
	launch master org.apache.spark.deploy.master.Master --host $HOST --port "$port" --webui-port "$web"
	wait_for "master on $HOST:$port" master port_open "$port"
	local url="spark://$HOST:$port"
	for i in $(seq 1 "$WORKERS"); do
		mkdir -p "$BASE/work/worker$i" "$BASE/local/worker$i"
		SPARK_LOCAL_DIRS="$BASE/local/worker$i" launch "worker$i" org.apache.spark.deploy.worker.Worker \
			--host $HOST --port "$(free_port)" --webui-port "$(free_port)" \
			--cores "$CORES" --memory "$MEMORY" --work-dir "$BASE/work/worker$i" "$url"
	done
	wait_for "$WORKERS workers registered with the master" master registered
	echo "$url" >"$BASE/master.url"
	echo "master web UI: http://$HOST:$web; logs: $BASE/logs"
	echo "$url"
}

case "${1:-}" in
start) start ;;
stop) stop ;;
status) status ;;
*)
	echo "usage: $0 start|stop|status" >&2
	exit 2
	;;
esac
