#!/usr/bin/env bash
# Test "hosts" for the libvirt driver: one libvirtd per name, each in its own mount namespace
# so that it has its own /etc/libvirt, /run/libvirt (socket), /var/lib/libvirt, /var/cache/libvirt
# and /var/log/libvirt (bind mounts of folders under DIR/NAME). No systemd is needed: Debian's
# libvirt-daemon, libvirt-daemon-driver-qemu and libvirt-clients are installed when missing,
# a libvirt-qemu system user is made, and QEMU's output goes to files (no virtlogd).
#
#   eval "$(bash scripts/libvirt.sh start DIR host-a host-b)"   # prints FLOE_TEST_LIBVIRT_URIS
#   bash scripts/libvirt.sh stop DIR                              # destroys their domains, stops them
#
# Each host's URI is qemu+unix:///system?socket=DIR/NAME/run/libvirt-sock. Idempotent: a host
# whose libvirtd answers is reused. Guests must use domain type 'qemu' (TCG) on these machines.
set -euo pipefail
command=${1:?usage: libvirt.sh start|stop DIR [NAME...]}
root=${2:?usage: libvirt.sh start|stop DIR [NAME...]}
shift 2

uri_of() { echo "qemu+unix:///system?socket=$root/$1/run/libvirt-sock"; }

install_libvirt() {
  if ! command -v libvirtd >/dev/null || ! command -v virsh >/dev/null ||
    [ ! -e /usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_qemu.so ]; then
    echo "==> Installing libvirt" >&2
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
      libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients qemu-utils >&2
  fi
  getent passwd libvirt-qemu >/dev/null ||
    useradd --system --no-create-home --user-group --shell /usr/sbin/nologin libvirt-qemu
  mkdir -p /etc/libvirt /run/libvirt /var/lib/libvirt /var/cache/libvirt /var/log/libvirt
}

start_host() {
  local name=$1 dir="$root/$1" uri
  uri=$(uri_of "$name")
  if virsh -c "$uri" version >/dev/null 2>&1; then return; fi
  mkdir -p "$dir"/{etc/qemu,run,lib,cache,log,pool}
  # user/group root: else probing /dev/kvm as libvirt-qemu makes each create take ~56 s here.
  cat >"$dir/etc/qemu.conf" <<'EOF'
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
stdio_handler = "file"
EOF
  cat >"$dir/etc/libvirtd.conf" <<'EOF'
unix_sock_group = "root"
unix_sock_rw_perms = "0700"
auth_unix_rw = "none"
auth_unix_ro = "none"
EOF
  # The namespace lives as long as libvirtd (its only process); QEMUs it starts inherit it.
  setsid unshare --mount --propagation private bash -c '
    set -e
    d=$1
    mount --bind "$d/etc" /etc/libvirt
    mount --bind "$d/run" /run/libvirt
    mount --bind "$d/lib" /var/lib/libvirt
    mount --bind "$d/cache" /var/cache/libvirt
    mount --bind "$d/log" /var/log/libvirt
    exec libvirtd --pid-file "$d/libvirtd.pid"
  ' libvirtd-ns "$dir" </dev/null >"$dir/libvirtd.out" 2>&1 &
  for _ in $(seq 150); do
    virsh -c "$uri" version >/dev/null 2>&1 && break
    sleep 0.2
  done
  virsh -c "$uri" version >/dev/null 2>&1 || { echo "libvirtd $name did not answer; see $dir/libvirtd.out" >&2; cat "$dir/libvirtd.out" >&2; exit 1; }
  # Floe's storage pool: templates and desktop disks live here.
  if ! virsh -c "$uri" pool-info floe >/dev/null 2>&1; then
    virsh -c "$uri" pool-define-as floe dir --target "$dir/pool" >/dev/null
  fi
  virsh -c "$uri" pool-start floe >/dev/null 2>&1 || true
  virsh -c "$uri" pool-autostart floe >/dev/null 2>&1 || true
}

stop_host() {
  local dir=$1 name uri pid
  name=$(basename "$dir")
  uri=$(uri_of "$name")
  [ -f "$dir/libvirtd.pid" ] || return 0
  pid=$(cat "$dir/libvirtd.pid" 2>/dev/null || true)
  [ -n "$pid" ] && kill -CONT "$pid" 2>/dev/null || true
  if virsh -c "$uri" version >/dev/null 2>&1; then
    for domain in $(virsh -c "$uri" list --all --name); do
      virsh -c "$uri" destroy "$domain" >/dev/null 2>&1 || true
      virsh -c "$uri" undefine "$domain" --nvram >/dev/null 2>&1 || virsh -c "$uri" undefine "$domain" >/dev/null 2>&1 || true
    done
  fi
  if [ -n "$pid" ] && kill "$pid" 2>/dev/null; then
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$dir/libvirtd.pid"
}

case "$command" in
  start)
    [ $# -gt 0 ] || set -- host-a host-b
    install_libvirt
    mkdir -p "$root"
    uris=()
    for name in "$@"; do start_host "$name"; uris+=("$(uri_of "$name")"); done
    (IFS=' '; echo "export FLOE_TEST_LIBVIRT_URIS='${uris[*]}'")
    ;;
  stop)
    for dir in "$root"/*/; do [ -d "$dir" ] && stop_host "${dir%/}"; done
    ;;
  *) echo "usage: libvirt.sh start|stop DIR [NAME...]" >&2; exit 2 ;;
esac
