#!/usr/bin/env bash
# Runs Debian's nginx in the foreground in front of two local app instances, with the same proxy rules
# as deploy/nginx.conf (from deploy/nginx-local.conf.template).
#   deploy/nginx-local.sh PREFIX LISTEN_PORT BACKEND_A BACKEND_B
#   e.g. deploy/nginx-local.sh /tmp/lse-nginx 8080 127.0.0.1:8001 127.0.0.1:8002
# PREFIX is created if needed and receives nginx.conf, the logs (access.log names the upstream of each
# request) and nginx's temporary files. Stop it with Ctrl-C or SIGTERM/SIGQUIT to this process.
set -euo pipefail
if [ $# -ne 4 ]; then
  sed -n '2,8p' "$0" >&2
  exit 2
fi
prefix=$1 listen=$2 backend_a=$3 backend_b=$4
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$nginx_bin" ] || { echo "nginx-local: nginx is not installed (apt-get install nginx-light)" >&2; exit 1; }
mkdir -p "$prefix"
prefix=$(cd "$prefix" && pwd)
chmod 755 "$prefix"   # when started as root, nginx's workers run as an unprivileged user
sed -e "s|@PREFIX@|$prefix|g" -e "s|@LISTEN_PORT@|$listen|g" \
    -e "s|@BACKEND_A@|$backend_a|g" -e "s|@BACKEND_B@|$backend_b|g" \
    "$here/nginx-local.conf.template" >"$prefix/nginx.conf"
"$nginx_bin" -t -q -p "$prefix" -e "$prefix/error.log" -c "$prefix/nginx.conf"
exec "$nginx_bin" -p "$prefix" -e "$prefix/error.log" -c "$prefix/nginx.conf"
