# shellcheck shell=bash
# Sourced by lib.sh: private nginx instances serving a directory on free loopback ports. Uses
# log, die, free_port and stop_pid from lib.sh and HERE (the bench directory).

NGINX_PID=
NGINX_PIDS=()

# start_nginx ROOT NGXDIR PROBE [TEMPLATE]: serves ROOT from a config made from TEMPLATE
# (default $HERE/nginx.conf.in) in NGXDIR, on NGINX_PORT if set, else a free port; sets PORT,
# BASE and NGINX_PID, and waits until BASE/PROBE answers. Template variables: @PREFIX@ (NGXDIR),
# @ROOT@, @PORT@, @USER_LINE@, @WORKERS@ (NGINX_WORKERS, default the core count), @ACCESS_LOG@
# (NGINX_ACCESS_LOG, default off), @LIMIT_RATE@ (NGINX_LIMIT_RATE, default 0 = none),
# @UPSTREAM@ (NGINX_UPSTREAM, host:port of a proxied server), @PROXY_BUFFERING@
# (NGINX_PROXY_BUFFERING, default on). NGINX_WRAP
# is put before the nginx command (e.g. "taskset -c 0"). May be called several times; every
# instance is stopped by stop_nginx.
start_nginx() {
  local root=$1 ngx=$2 probe=$3 template=${4:-$HERE/nginx.conf.in} user_line=""
  PORT=${NGINX_PORT:-$(free_port)}
  mkdir -p "$ngx/tmp"
  # Workers must read the 0700 temp dirs when running as root.
  [[ $(id -u) == 0 ]] && user_line="user $(id -un) $(id -gn);"
  sed -e "s|@PREFIX@|$ngx|g" -e "s|@ROOT@|$root|g" -e "s|@PORT@|$PORT|g" \
    -e "s|@USER_LINE@|$user_line|" -e "s|@WORKERS@|${NGINX_WORKERS:-$(nproc)}|g" \
    -e "s|@ACCESS_LOG@|${NGINX_ACCESS_LOG:-off}|g" -e "s|@LIMIT_RATE@|${NGINX_LIMIT_RATE:-0}|g" \
    -e "s|@UPSTREAM@|${NGINX_UPSTREAM:-}|g" -e "s|@PROXY_BUFFERING@|${NGINX_PROXY_BUFFERING:-on}|g" \
    "$template" >"$ngx/nginx.conf"
  ${NGINX_WRAP:-} nginx -p "$ngx" -e "$ngx/error.log" -c "$ngx/nginx.conf" -g 'daemon off;' &
  NGINX_PID=$!
  NGINX_PIDS+=("$NGINX_PID")
  BASE=http://127.0.0.1:$PORT
  for _ in $(seq 100); do
    curl -sf -o /dev/null "$BASE/$probe" && break
    kill -0 "$NGINX_PID" 2>/dev/null || { cat "$ngx/error.log" >&2; die "nginx exited"; }
    sleep 0.1
  done
  curl -sf -o /dev/null "$BASE/$probe" || die "nginx not answering on $BASE"
}

# stop_nginx: ends every nginx start_nginx started (by their PIDs).
stop_nginx() {
  local pid
  for pid in "${NGINX_PIDS[@]}"; do stop_pid "$pid"; done
}
