#!/usr/bin/env bash
# Builds Floe's demo guest from Debian packages: a Debian 6.1 kernel, a busybox initramfs whose
# /init mounts the desktop's own virtio disk at /home and gives a shell on the VGA console
# (tty1), and a small ext4 base disk in qcow2 that each desktop overlays. The guest prints
# FLOE-GUEST-READY on its serial port once the shell on tty1 is up; Floe waits for that line.
#
# Usage: bash guest/build.sh [IMAGE_DIR]   (default $FLOE_IMAGE_DIR, else <repo>/.data/images)
# Output: IMAGE_DIR/demo/{vmlinuz,initrd.img,base.qcow2,stamp}; downloads are cached in
# IMAGE_DIR/cache. A second run with the same recipe exits at once. base.qcow2 is never
# replaced once it exists (desktop overlays depend on its exact content): delete it by hand to
# rebuild it. Run as root: it installs missing host tools with apt-get (cpio, qemu-utils,
# e2fsprogs) and creates the /dev/console node of the initramfs with mknod.
set -euo pipefail

script_path="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
repo_root="$(cd "$(dirname "$script_path")/.." && pwd)"
image_dir="${1:-${FLOE_IMAGE_DIR:-$repo_root/.data/images}}"
mkdir -p "$image_dir"
image_dir="$(cd "$image_dir" && pwd)"
out_dir="$image_dir/demo"
cache_dir="$image_dir/cache"

# The recipe version is the hash of this script: any change to it rebuilds kernel and initrd.
recipe="$(sha256sum "$script_path" | cut -c1-16)"
ready_marker="FLOE-GUEST-READY"
base_disk_mib=256

say() { echo "guest/build.sh: $*"; }
fail() { echo "guest/build.sh: error: $*" >&2; exit 1; }

# One build at a time per image folder (test files may call this script side by side).
if command -v flock >/dev/null 2>&1; then
  exec 9>"$image_dir/.build.lock"
  flock 9
fi

if [[ -f "$out_dir/vmlinuz" && -f "$out_dir/initrd.img" && -f "$out_dir/base.qcow2" && -f "$out_dir/stamp" ]] \
  && grep -qx "recipe=$recipe" "$out_dir/stamp"; then
  say "demo guest is up to date in $out_dir"
  exit 0
fi

say "building the demo guest in $out_dir (recipe $recipe)"
mkdir -p "$out_dir" "$cache_dir"

# --- Host tools --------------------------------------------------------------------------
apt_updated=0
apt_update_once() {
  if [[ $apt_updated == 0 ]]; then
    say "apt-get update"
    apt-get update -qq || fail "apt-get update failed"
    apt_updated=1
  fi
}

missing_packages=()
need_tool() { # need_tool COMMAND DEBIAN_PACKAGE
  command -v "$1" >/dev/null 2>&1 || missing_packages+=("$2")
}
need_tool apt-get apt
need_tool dpkg-deb dpkg
need_tool cpio cpio
need_tool gzip gzip
need_tool tar tar
need_tool qemu-img qemu-utils
need_tool mkfs.ext4 e2fsprogs
need_tool sha256sum coreutils
if ((${#missing_packages[@]})); then
  command -v apt-get >/dev/null 2>&1 || fail "missing tools (${missing_packages[*]}) and no apt-get to install them"
  apt_update_once
  say "installing host tools: ${missing_packages[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing_packages[@]}" \
    || fail "could not install ${missing_packages[*]}"
fi

# --- Downloads (cached) ------------------------------------------------------------------
# apt-get download as root warns when the _apt user cannot write the folder; run it as root.
apt_download() { # apt_download PACKAGE  (into $cache_dir)
  (cd "$cache_dir" && apt-get download -q -o APT::Sandbox::User=root "$1")
}

# Versioned kernel packages (linux-image-6.1.0-N-amd64, preferring the -unsigned build), newest first.
kernel_candidates() {
  apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64(-unsigned)?$' 2>/dev/null \
    | awk '{print $1}' | sed -E 's/^linux-image-6\.1\.0-([0-9]+)-amd64(-unsigned)?$/\1/' \
    | sort -un | sort -rn \
    | while read -r n; do
      echo "linux-image-6.1.0-$n-amd64-unsigned"
      echo "linux-image-6.1.0-$n-amd64"
    done
}

kernel_deb="$(ls -1 "$cache_dir"/linux-image-6.1.0-*-amd64*.deb 2>/dev/null | sort -V | tail -n1 || true)"
if [[ -z "$kernel_deb" ]]; then
  candidates="$(kernel_candidates)"
  if [[ -z "$candidates" ]]; then
    apt_update_once
    candidates="$(kernel_candidates)"
  fi
  [[ -n "$candidates" ]] || fail "apt-cache finds no linux-image-6.1.0-N-amd64 package (is this Debian 12?)"
  for package in $candidates; do
    apt-cache show --no-all-versions "$package" >/dev/null 2>&1 || continue
    say "downloading $package (about 70 MB, cached afterwards)"
    if apt_download "$package"; then break; fi
  done
  kernel_deb="$(ls -1 "$cache_dir"/linux-image-6.1.0-*-amd64*.deb 2>/dev/null | sort -V | tail -n1 || true)"
  [[ -n "$kernel_deb" ]] || fail "could not download a kernel package"
fi
say "kernel package: $(basename "$kernel_deb")"

busybox_deb="$(ls -1 "$cache_dir"/busybox-static_*.deb 2>/dev/null | sort -V | tail -n1 || true)"
if [[ -z "$busybox_deb" ]]; then
  apt-cache show --no-all-versions busybox-static >/dev/null 2>&1 || apt_update_once
  say "downloading busybox-static"
  apt_download busybox-static || fail "could not download busybox-static"
  busybox_deb="$(ls -1 "$cache_dir"/busybox-static_*.deb | sort -V | tail -n1)"
fi
say "busybox package: $(basename "$busybox_deb")"

# --- Unpack ------------------------------------------------------------------------------
work_dir="$(mktemp -d "$cache_dir/build.XXXXXX")"
trap 'rm -rf "$work_dir"' EXIT
kernel_root="$work_dir/kernel"
mkdir -p "$kernel_root"

# Only the kernel image and the module folders the guest needs (the full package is ~400 MB).
modules_prefix="$(dpkg-deb -c "$kernel_deb" \
  | awk '!found && match($6, /^\.\/(usr\/)?lib\/modules\//) { print substr($6, RSTART, RLENGTH); found = 1 }')"
[[ -n "$modules_prefix" ]] || fail "no lib/modules in $(basename "$kernel_deb")"
say "unpacking the kernel and its virtio/ext4 modules"
dpkg-deb --fsys-tarfile "$kernel_deb" | tar -x -C "$kernel_root" --wildcards \
  './boot/vmlinuz-*' \
  "${modules_prefix}*/modules.builtin" \
  "${modules_prefix}*/kernel/drivers/virtio/*" \
  "${modules_prefix}*/kernel/drivers/block/*" \
  "${modules_prefix}*/kernel/fs/*" \
  "${modules_prefix}*/kernel/lib/*" \
  "${modules_prefix}*/kernel/crypto/*" \
  "${modules_prefix}*/kernel/drivers/usb/*" \
  "${modules_prefix}*/kernel/drivers/hid/*" \
  "${modules_prefix}*/kernel/drivers/input/*"
vmlinuz="$(ls -1 "$kernel_root"/boot/vmlinuz-* | head -n1)"
modules_dir="$(ls -d "$kernel_root/${modules_prefix#./}"*/ | head -n1)"
kernel_release="$(basename "$modules_dir")"
say "kernel release $kernel_release"

busybox_root="$work_dir/busybox"
dpkg -x "$busybox_deb" "$busybox_root"
busybox_bin="$busybox_root/bin/busybox"
[[ -x "$busybox_bin" ]] || fail "no bin/busybox in $(basename "$busybox_deb")"

# --- Initramfs tree ----------------------------------------------------------------------
root="$work_dir/initramfs"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,run,tmp,home,root,lib/modules}
chmod 1777 "$root/tmp"
cp "$busybox_bin" "$root/bin/busybox"
# One symlink per applet, at the path busybox names for it (bin/sh, sbin/init, usr/bin/env...).
"$busybox_bin" --list-full | while read -r applet; do
  [[ -n "$applet" && ! -e "$root/$applet" ]] || continue
  mkdir -p "$root/$(dirname "$applet")"
  ln -s /bin/busybox "$root/$applet"
done
# The kernel opens /dev/console for /init before devtmpfs is mounted: the node must exist.
mknod -m 600 "$root/dev/console" c 5 1
mknod -m 666 "$root/dev/null" c 1 3

# Modules: the virtio disk stack and ext4, each after its dependencies (read from the
# module's own depends= field), decompressed so that busybox insmod can load them.
module_file() { # module_file NAME -> path of NAME.ko[.xz|.zst|.gz] in the package, or nothing
  local name="$1" alt="${1//_/-}"
  find "$modules_dir/kernel" \( -name "$name.ko*" -o -name "$alt.ko*" \) -print -quit
}
module_payload() { # module_payload FILE -> the uncompressed .ko on stdout
  case "$1" in
    *.ko.xz) xz -dc "$1" ;;
    *.ko.zst) zstd -qdc "$1" ;;
    *.ko.gz) gzip -dc "$1" ;;
    *) cat "$1" ;;
  esac
}
is_builtin() { grep -qE "/${1}\.ko$|/${1//_/-}\.ko$" "$modules_dir/modules.builtin" 2>/dev/null; }
module_order=()
add_module() { # depth-first: dependencies first, each module once
  local name="$1" file deps dep
  for dep in "${module_order[@]:-}"; do [[ "$dep" == "$name" ]] && return 0; done
  if is_builtin "$name"; then return 0; fi
  file="$(module_file "$name")"
  [[ -n "$file" ]] || fail "module $name is not in the kernel package"
  deps="$(module_payload "$file" | grep -ao 'depends=[A-Za-z0-9_,-]*' | head -n1 | cut -d= -f2 || true)"
  for dep in ${deps//,/ }; do add_module "$dep"; done
  module_payload "$file" >"$root/lib/modules/$name.ko"
  module_order+=("$name")
}
for name in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_blk \
  crc32c_generic ext4; do
  add_module "$name"
done
printf '%s\n' "${module_order[@]}" >"$root/etc/modules-order"
say "modules (load order): ${module_order[*]}"
# Pointer devices (the USB tablet SPICE's client mouse mode drives, the PS/2 mouse of server
# mode) and evdev, loaded in the background after boot: nothing in the text console uses them;
# floe-pointer-echo shows tests that clicks, drags and the wheel reach the guest.
disk_module_count=${#module_order[@]}
for name in xhci_pci usbhid hid_generic psmouse evdev; do
  add_module "$name"
done
printf '%s\n' "${module_order[@]:$disk_module_count}" >"$root/etc/modules-input"
say "pointer modules (load order): ${module_order[*]:$disk_module_count}"

cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/home:/bin/sh
EOF
cat >"$root/etc/group" <<'EOF'
root:x:0:
EOF
echo floe-demo >"$root/etc/hostname"

cat >"$root/etc/banner" <<'EOF'

  Floe demo desktop
  =================
  A tiny Linux (a Debian kernel and busybox) in its own virtual machine.

  Files you keep in /home are on this desktop's own disk.
  Type commands at the prompt (busybox sh); `busybox --list` names them all.

EOF

# /etc/profile runs in the login shell on tty1: banner, prompt, and, the first time the
# prompt is up after a boot, the ready marker on the serial port.
cat >"$root/etc/profile" <<EOF
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
export HOME=/home TERM=linux
export PS1='\\u@\\h:\\w\\\$ '
cd /home 2>/dev/null || cd /
if [ "\$(tty)" = /dev/tty1 ]; then
  clear
  cat /etc/banner
  if [ ! -e /run/floe-ready ]; then
    : >/run/floe-ready
    echo $ready_marker >/dev/ttyS0
  fi
fi
EOF

# busybox init: a respawning login shell on tty1 (the VGA screen), Ctrl+Alt+Del reboots.
cat >"$root/etc/inittab" <<'EOF'
tty1::respawn:-/bin/sh
::ctrlaltdel:/sbin/reboot
::shutdown:/bin/sync
::shutdown:/bin/umount -r /home
EOF

# floe-pointer-echo: every event of the guest's pointer devices on the serial port, one line
# each, "PTR <device> <the 24-byte struct input_event in hex>" (tests decode type, code, value).
cat >"$root/bin/floe-pointer-echo" <<'EOF'
#!/bin/sh
i=0
until grep -qi -e tablet -e mouse /sys/class/input/event*/device/name 2>/dev/null; do
  i=$((i + 1)); [ $i -gt 200 ] && break
  usleep 50000
done
devices=""
for dir in /sys/class/input/event*; do
  name=$(cat "$dir/device/name" 2>/dev/null)
  case "$name" in *[Tt]ablet*|*[Mm]ouse*) ;; *) continue ;; esac
  device=$(basename "$dir")
  hexdump -v -e "\"PTR $device \" 24/1 \"%02x\" \"\\n\"" "/dev/input/$device" >/dev/ttyS0 &
  devices="$devices $device"
done
echo "PTR-ECHO-READY$devices" >/dev/ttyS0
EOF
chmod 755 "$root/bin/floe-pointer-echo"

cat >"$root/init" <<'EOF'
#!/bin/sh
# Floe demo guest: mounts the kernel file systems, loads the virtio disk and ext4 modules,
# mounts the desktop's disk (/dev/vda) at /home and hands over to busybox init, which runs a
# shell on tty1. Messages from here go to the serial console (the last console= argument).
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run
dmesg -n 1
hostname -F /etc/hostname
echo "floe-init: loading modules"
for module in $(cat /etc/modules-order); do
  insmod "/lib/modules/$module.ko" || echo "floe-init: could not load $module"
done
(for module in $(cat /etc/modules-input); do insmod "/lib/modules/$module.ko" 2>/dev/null; done) &
# floe.nodisk on the kernel command line (the accelerator probe) skips waiting for a disk.
i=0
grep -qw floe.nodisk /proc/cmdline && i=100
while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do usleep 50000; i=$((i + 1)); done
# sync: what the user writes is on the disk at once, so that a stop (QMP quit) keeps it.
if mount -t ext4 -o sync /dev/vda /home; then
  echo "floe-init: /dev/vda mounted at /home"
else
  echo "floe-init: no disk at /dev/vda; /home is in memory only"
fi
echo "floe-init: starting init"
exec /sbin/init
EOF
chmod 755 "$root/init"

say "packing initrd.img (cpio newc, gzip)"
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) | gzip -9n >"$work_dir/initrd.img"
cp "$vmlinuz" "$work_dir/vmlinuz"

# --- Base disk ---------------------------------------------------------------------------
if [[ -f "$out_dir/base.qcow2" ]]; then
  say "keeping the existing base.qcow2 (desktop overlays depend on it)"
else
  say "making base.qcow2: ${base_disk_mib} MiB ext4 in qcow2"
  seed="$work_dir/home-seed"
  mkdir -p "$seed"
  cat >"$seed/README" <<'EOF'
This is the home folder of your Floe demo desktop. It lives on the desktop's own disk
(a copy-on-write overlay of the demo image), so what you write here is still there after
the desktop is stopped and started again, until the desktop is destroyed.
EOF
  truncate -s "${base_disk_mib}M" "$work_dir/base.raw"
  mkfs.ext4 -q -F -L floe-home -d "$seed" "$work_dir/base.raw"
  qemu-img convert -f raw -O qcow2 "$work_dir/base.raw" "$work_dir/base.qcow2"
  mv -f "$work_dir/base.qcow2" "$out_dir/base.qcow2"
fi

# New inodes (mv), so that a running QEMU keeps reading the files it opened.
mv -f "$work_dir/vmlinuz" "$out_dir/vmlinuz"
mv -f "$work_dir/initrd.img" "$out_dir/initrd.img"
cat >"$out_dir/stamp" <<EOF
recipe=$recipe
kernel=$(basename "$kernel_deb")
kernel_release=$kernel_release
busybox=$(basename "$busybox_deb")
ready_marker=$ready_marker
built_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)
EOF
say "done: $(du -h "$out_dir/vmlinuz" | cut -f1) vmlinuz, $(du -h "$out_dir/initrd.img" | cut -f1) initrd.img, base.qcow2 $(du -h "$out_dir/base.qcow2" | cut -f1) on disk"
