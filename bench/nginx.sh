# Sourced by the bench scripts: a private nginx serving a directory on a free loopback port.
# Needs log/die and HERE (the bench directory) from the caller.

NGINX_PID=

# start_nginx ROOT NGXDIR PROBE: serves ROOT from a config in NGXDIR; sets PORT, BASE and
# NGINX_PID, and waits until BASE/PROBE answers.
start_nginx() {
  local root=$1 ngx=$2 probe=$3 user_line=""
  PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  mkdir -p "$ngx/tmp"
  # Workers must read the 0700 temp dirs when running as root.
  [[ $(id -u) == 0 ]] && user_line="user $(id -un) $(id -gn);"
  sed -e "s|@PREFIX@|$ngx|g" -e "s|@ROOT@|$root|g" -e "s|@PORT@|$PORT|g" \
    -e "s|@USER_LINE@|$user_line|" "$HERE/nginx.conf.in" >"$ngx/nginx.conf"
  nginx -p "$ngx" -e "$ngx/error.log" -c "$ngx/nginx.conf" -g 'daemon off;' &
  NGINX_PID=$!
  BASE=http://127.0.0.1:$PORT
  for _ in $(seq 100); do
    curl -sf -o /dev/null "$BASE/$probe" && break
    kill -0 "$NGINX_PID" 2>/dev/null || { cat "$ngx/error.log" >&2; die "nginx exited"; }
    sleep 0.1
  done
  curl -sf -o /dev/null "$BASE/$probe" || die "nginx not answering on $BASE"
}

# stop_nginx: ends the nginx start_nginx started (by its PID), if it runs.
stop_nginx() {
  if [[ -n $NGINX_PID ]] && kill -0 "$NGINX_PID" 2>/dev/null; then
    kill "$NGINX_PID" 2>/dev/null || true
    wait "$NGINX_PID" 2>/dev/null || true
  fi
}
