#!/usr/bin/env bash
# A local Neo4j 5.26 community server for tests and development, without Docker: the
# embeddable DBMS from Maven Central plus a small launcher (neo4j/), speaking Bolt with
# authentication on 127.0.0.1 only.
#
#   scripts/neo4j.sh install   build neo4j/ with Maven (skipped when pom and launcher are unchanged)
#   scripts/neo4j.sh start     install if needed, start in the background, return once Bolt answers
#   scripts/neo4j.sh stop      SIGTERM the server from the pid file (SIGKILL after NEO4J_STOP_TIMEOUT)
#   scripts/neo4j.sh status    exit 0 running, 3 not running, 4 process alive but Bolt not answering
#   scripts/neo4j.sh wipe      stop, then delete the data directory
#
# Environment (all optional):
#   NEO4J_BOLT_PORT      Bolt port on 127.0.0.1                  (default 7687)
#   NEO4J_PASSWORD       password of user neo4j, >= 8 characters (default kgrec-dev-password);
#                        applied on every start, so changing it and restarting changes it
#   NEO4J_DATA_DIR       databases, logs, pid file, temp files   (default <repo>/.neo4j-data)
#   NEO4J_HEAP           JVM max heap                            (default 1g)
#   NEO4J_PAGECACHE      Neo4j page cache                        (default 256m)
#   NEO4J_JAVA_OPTS      extra JVM options, e.g. -XX:TieredStopAtLevel=1
#   NEO4J_START_TIMEOUT  seconds to wait for Bolt                (default 120)
#   NEO4J_STOP_TIMEOUT   seconds to wait after SIGTERM           (default 60)
# Instances with different NEO4J_DATA_DIR and NEO4J_BOLT_PORT run side by side.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MODULE=$ROOT/neo4j
TARGET=$MODULE/target
MAIN_CLASS=dev.kgrec.neo4j.Neo4jLauncher
DEFAULT_PASSWORD=kgrec-dev-password

PORT=${NEO4J_BOLT_PORT:-7687}
DATA=${NEO4J_DATA_DIR:-$ROOT/.neo4j-data}
case $DATA in /*) ;; *) DATA=$PWD/$DATA ;; esac
HEAP=${NEO4J_HEAP:-1g}
PAGECACHE=${NEO4J_PAGECACHE:-256m}
START_TIMEOUT=${NEO4J_START_TIMEOUT:-120}
STOP_TIMEOUT=${NEO4J_STOP_TIMEOUT:-60}
PIDFILE=$DATA/neo4j.pid
LOG=$DATA/logs/neo4j.log
MARKER=$DATA/.kgrec-neo4j

say() { echo "neo4j.sh: $*" >&2; }
die() { say "$*"; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

if ! [[ $PORT =~ ^[0-9]{1,5}$ ]] || ((10#$PORT < 1 || 10#$PORT > 65535)); then
  die "NEO4J_BOLT_PORT=$PORT is not a port"
fi
PORT=$((10#$PORT))

build_hash() {
  { cat "$MODULE/pom.xml"; find "$MODULE/src" -type f -print0 | LC_ALL=C sort -z | xargs -0 cat; } |
    sha256sum | cut -d' ' -f1
}

# Built: the hash of pom and sources matches the last build, and every jar of the runtime
# classpath (in the local Maven repository) is still there.
built() {
  local jar jars
  [[ -f $TARGET/.build-hash && -f $TARGET/classpath.txt && -d $TARGET/classes ]] || return 1
  [[ $(<"$TARGET/.build-hash") == "$(build_hash)" ]] || return 1
  IFS=: read -r -a jars <"$TARGET/classpath.txt"
  for jar in "${jars[@]}"; do
    [[ -f $jar ]] || return 1
  done
}

cmd_install() {
  if built; then
    [[ ${1:-} == quiet ]] || say "already built ($TARGET)"
    return 0
  fi
  mkdir -p "$TARGET"
  exec 9>"$TARGET/.build.lock"
  flock 9 # concurrent starts of two instances build once
  if built; then
    exec 9>&-
    return 0
  fi
  command -v java >/dev/null || die "java not found (Java 17+ is needed)"
  local major
  major=$(java -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ { print $2 }')
  major=${major%%.*}
  if ! [[ $major =~ ^[0-9]+$ ]] || ((major < 17)); then
    die "Java 17+ is needed, found '$major'"
  fi
  command -v mvn >/dev/null || die "mvn not found (Maven is needed to build $MODULE)"
  local t0
  t0=$(now)
  say "building $MODULE with Maven (the first build downloads ~160 MB into ~/.m2)"
  rm -f "$TARGET/.build-hash" "$TARGET/classpath.txt"
  if ! mvn -B -Dstyle.color=never -f "$MODULE/pom.xml" package >"$TARGET/build.log" 2>&1; then
    tail -n 40 "$TARGET/build.log" >&2
    die "the Maven build failed; full log in $TARGET/build.log"
  fi
  build_hash >"$TARGET/.build-hash"
  exec 9>&-
  say "built in $(since "$t0") s"
}

# The pid from the pid file if that process is alive and is our launcher, else nothing.
live_pid() {
  local pid
  [[ -f $PIDFILE ]] || return 0
  pid=$(<"$PIDFILE")
  [[ $pid =~ ^[0-9]+$ ]] || return 0
  if kill -0 "$pid" 2>/dev/null && tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qx "$MAIN_CLASS"; then
    echo "$pid"
  fi
}

# The Bolt port a running launcher was given (the argument after HOME).
pid_port() {
  tr '\0' '\n' <"/proc/$1/cmdline" | awk -v c="$MAIN_CLASS" 'f == 2 { print; exit } f { f++ } $0 == c { f = 1 }'
}

# Close every descriptor above 2 that the caller passed down (a pipe a test runner waits on,
# our build lock), so the server holds none of them.
close_fds() {
  local fd
  for fd in /proc/"$BASHPID"/fd/*; do
    fd=${fd##*/}
    if ((fd > 2)); then eval "exec $fd>&-" 2>/dev/null || true; fi
  done
}

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

rss() { awk '/^VmRSS/ { printf "%d MiB", $2 / 1024 }' "/proc/$1/status" 2>/dev/null; }

cmd_start() {
  local password=${NEO4J_PASSWORD:-$DEFAULT_PASSWORD} pid t0 running_port
  ((${#password} >= 8)) || die "NEO4J_PASSWORD must have at least 8 characters"
  if [[ -d $DATA && ! -f $MARKER && -n $(ls -A "$DATA") ]]; then
    die "$DATA is not empty and was not made by this script; choose another NEO4J_DATA_DIR"
  fi
  mkdir -p "$DATA/logs" "$DATA/tmp"
  touch "$MARKER"
  # One start at a time per data directory: a second one waits here, then finds it running.
  exec 8>"$DATA/.start.lock"
  flock 8
  pid=$(live_pid)
  if [[ -n $pid ]]; then
    running_port=$(pid_port "$pid")
    answers "$running_port" || die "pid $pid is alive but Bolt on $running_port does not answer; see $LOG or run: $0 stop"
    say "already running: pid $pid, bolt://127.0.0.1:$running_port, data $DATA"
    [[ $running_port == "$PORT" ]] || say "note: it listens on $running_port, not NEO4J_BOLT_PORT=$PORT"
    return 0
  fi
  answers "$PORT" && die "port $PORT is already in use by another process (set NEO4J_BOLT_PORT)"
  cmd_install quiet
  rm -f "$PIDFILE"
  [[ -f $LOG ]] && mv -f "$LOG" "$LOG.1"
  t0=$(now)
  # setsid: a Ctrl-C in the calling terminal or test runner does not reach the server.
  # shellcheck disable=SC2086 # NEO4J_JAVA_OPTS is a list of options
  (
    close_fds
    cd "$DATA"
    TMPDIR=$DATA/tmp CLASSPATH="$TARGET/classes:$(<"$TARGET/classpath.txt")" NEO4J_PASSWORD=$password \
      exec setsid java \
      -Xmx"$HEAP" -XX:+UseG1GC -XX:+ExitOnOutOfMemoryError -XX:-OmitStackTraceInFastThrow \
      -XX:-UsePerfData -XX:ErrorFile="$DATA/logs/hs_err_pid%p.log" -Djava.io.tmpdir="$DATA/tmp" \
      --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED \
      --add-opens=java.base/sun.nio.ch=ALL-UNNAMED -Dio.netty.tryReflectionSetAccessible=true \
      -Djdk.nio.maxCachedBufferSize=1024 -Dlog4j2.disable.jmx=true -Dfile.encoding=UTF-8 \
      ${NEO4J_JAVA_OPTS:-} \
      "$MAIN_CLASS" "$DATA" "$PORT" "$PAGECACHE" </dev/null >"$LOG" 2>&1
  ) &
  pid=$!
  echo "$pid" >"$PIDFILE"
  until grep -qs '^kgrec-neo4j ready' "$LOG" && answers "$PORT"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$PIDFILE"
      say "the server exited during start; last lines of $LOG:"
      tail -n 40 "$LOG" >&2
      exit 1
    fi
    if awk -v t="$(since "$t0")" -v m="$START_TIMEOUT" 'BEGIN { exit !(t > m) }'; then
      say "Bolt did not answer within $START_TIMEOUT s; last lines of $LOG:"
      tail -n 40 "$LOG" >&2
      cmd_stop
      exit 1
    fi
    sleep 0.2
  done
  say "started in $(since "$t0") s: pid $pid, bolt://127.0.0.1:$PORT, user neo4j, RSS $(rss "$pid"), data $DATA"
  [[ -n ${NEO4J_PASSWORD:-} ]] || say "password: the dev default $DEFAULT_PASSWORD (set NEO4J_PASSWORD to change it)"
}

cmd_stop() {
  local pid t0
  pid=$(live_pid)
  if [[ -z $pid ]]; then
    rm -f "$PIDFILE"
    say "not running (data $DATA)"
    return 0
  fi
  t0=$(now)
  kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do
    if awk -v t="$(since "$t0")" -v m="$STOP_TIMEOUT" 'BEGIN { exit !(t > m) }'; then
      say "pid $pid did not stop within $STOP_TIMEOUT s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.5
      break
    fi
    sleep 0.2
  done
  rm -f "$PIDFILE"
  say "stopped pid $pid in $(since "$t0") s"
}

cmd_status() {
  local pid port
  pid=$(live_pid)
  if [[ -z $pid ]]; then
    echo "not running (data $DATA)"
    return 3
  fi
  port=$(pid_port "$pid")
  if answers "$port"; then
    echo "running: pid $pid, bolt://127.0.0.1:$port, RSS $(rss "$pid"), data $DATA"
    return 0
  fi
  echo "process alive but Bolt not answering: pid $pid, port $port, RSS $(rss "$pid"), log $LOG"
  return 4
}

cmd_wipe() {
  cmd_stop
  if [[ -d $DATA ]]; then
    [[ -f $MARKER ]] || die "$DATA was not made by this script; not deleting it"
    rm -rf "$DATA"
    say "deleted $DATA"
  fi
}

case ${1:-} in
  install) cmd_install ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  wipe) cmd_wipe ;;
  *)
    sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
