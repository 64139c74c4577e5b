#!/usr/bin/env bash
# Runs Varnish in the foreground in front of Kiln, with deploy/varnish/kiln.vcl.
#
#   VARNISH_PORT=6081 KILN_BACKEND=127.0.0.1:3000 deploy/varnish/run.sh
#
# VARNISH_PORT     port to listen on (default 6081)
# VARNISH_ADDRESS  address to listen on (default 127.0.0.1)
# KILN_BACKEND     Kiln's host:port, or [ipv6]:port (default 127.0.0.1:3000)
# PURGE_ALLOW      addresses or CIDR ranges allowed to PURGE, comma or space separated
#                  (default loopback: 127.0.0.1 ::1); list every host Kiln runs on
# VARNISH_WORKDIR  folder for Varnish's state and the generated kiln-site.vcl (default: a new
#                  temporary folder, left behind: pass one to remove it afterwards)
# VARNISH_STORAGE  cache storage (default malloc,256m)
#
# The process that runs this script becomes varnishd (exec), so a supervisor or a test stops
# Varnish with a signal to that pid. The backend and the purge ACL are written to
# $VARNISH_WORKDIR/kiln-site.vcl, which kiln.vcl includes: the VCL itself holds no address, and
# VCL cannot read the environment when it is compiled.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
die() {
  echo "varnish/run.sh: $*" >&2
  exit 1
}

command -v varnishd >/dev/null 2>&1 || die "varnishd was not found; install Varnish 7 (Debian: apt-get install varnish varnish-modules)"

port="${VARNISH_PORT:-6081}"
address="${VARNISH_ADDRESS:-127.0.0.1}"
backend="${KILN_BACKEND:-127.0.0.1:3000}"
allow="${PURGE_ALLOW:-127.0.0.1 ::1}"
storage="${VARNISH_STORAGE:-malloc,256m}"

[[ "$port" =~ ^[0-9]{1,5}$ ]] && ((port > 0 && port < 65536)) || die "VARNISH_PORT must be a port number, got '$port'"
[[ "$address" =~ ^[A-Za-z0-9.:-]+$ ]] || die "VARNISH_ADDRESS must be a host name or address, got '$address'"

# host:port or [v6]:port; only characters a host name or address can hold, since they are
# written into VCL.
if [[ "$backend" =~ ^\[([0-9A-Fa-f:.]+)\]:([0-9]{1,5})$ ]] || [[ "$backend" =~ ^([A-Za-z0-9.-]+):([0-9]{1,5})$ ]]; then
  backend_host="${BASH_REMATCH[1]}"
  backend_port="${BASH_REMATCH[2]}"
else
  die "KILN_BACKEND must be host:port (or [ipv6]:port), got '$backend'"
fi

acl=""
for entry in ${allow//,/ }; do
  [[ "$entry" =~ ^([0-9A-Fa-f:.]+)(/([0-9]{1,3}))?$ ]] || die "PURGE_ALLOW: '$entry' is not an address or CIDR range"
  acl+="    \"${BASH_REMATCH[1]}\"${BASH_REMATCH[2]:+/${BASH_REMATCH[3]}};"$'\n'
done
[[ -n "$acl" ]] || die "PURGE_ALLOW must name at least one address"

workdir="${VARNISH_WORKDIR:-}"
if [[ -z "$workdir" ]]; then
  workdir="$(mktemp -d "${TMPDIR:-/tmp}/kiln-varnish.XXXXXX")"
fi
mkdir -p "$workdir"
workdir="$(cd "$workdir" && pwd)"
# Started as root, varnishd compiles VCL as its own unprivileged user, which must read the include.
chmod 755 "$workdir"

cat >"$workdir/kiln-site.vcl" <<VCL
# Written by deploy/varnish/run.sh from KILN_BACKEND and PURGE_ALLOW; rewritten at every start.
backend kiln {
    .host = "$backend_host";
    .port = "$backend_port";
    .connect_timeout = 2s;
    .first_byte_timeout = 30s;
    .between_bytes_timeout = 10s;
}

acl purgers {
$acl}
VCL
chmod 644 "$workdir/kiln-site.vcl"

args=(
  -n "$workdir/varnishd"
  -a "$address:$port"
  -f "$here/kiln.vcl"
  -p "vcl_path=$workdir:$here"
  -s "$storage"
)

# Compile once first, so a missing xkey vmod or a broken VCL is reported plainly.
if ! compiled="$(varnishd -C "${args[@]}" 2>&1 >/dev/null)"; then
  if grep -qi "vmod.*xkey\|xkey.*vmod" <<<"$compiled"; then
    die "the xkey vmod is missing; install varnish-modules (Debian: apt-get install varnish-modules)"
  fi
  die "kiln.vcl does not compile:"$'\n'"$compiled"
fi

echo "varnish/run.sh: listening on $address:$port, forwarding to $backend_host:$backend_port, state in $workdir" >&2
exec varnishd -F "${args[@]}"
