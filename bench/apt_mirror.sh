# shellcheck shell=bash
# Sourced by the apt benchmarks. apt_mirror_setup OUT BASE PORT [NTHREADS]: writes
# OUT/mirror.list for apt-mirror mirroring BASE/debian stable main (amd64) into OUT/mirror, with
# NTHREADS wget processes (apt-mirror's default, 20, when not given). apt-mirror stores under
# host:port but reads back under host (it drops the port): a symlink bridges the two. The pool
# it fills is OUT/mirror/127.0.0.1:PORT/debian/pool.
apt_mirror_setup() {
  local out=$1 base=$2 port=$3 nthreads=${4:-}
  mkdir -p "$out/mirror/127.0.0.1:$port" "$out/skel/127.0.0.1:$port" "$out/var"
  ln -s "127.0.0.1:$port" "$out/mirror/127.0.0.1"
  ln -s "127.0.0.1:$port" "$out/skel/127.0.0.1"
  {
    echo "set base_path $out"
    echo "set mirror_path \$base_path/mirror"
    echo "set skel_path \$base_path/skel"
    echo "set var_path \$base_path/var"
    echo "set defaultarch amd64"
    [[ -n $nthreads ]] && echo "set nthreads $nthreads"
    echo "set _tilde 0"
    echo "deb $base/debian stable main"
  } >"$out/mirror.list"
}
