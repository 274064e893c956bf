#!/usr/bin/env bash
# Builds Floe's second template, "desktop": a graphical Debian 12 guest made from Debian's
# packages only (mmdebstrap into a folder, then an ext4 file system in qcow2). Xfce rather than
# LXQt: LXQt drew its panel sooner under TCG here (31 s against 44.5 s), but without Recommends
# it draws its desktop icons blank (it needs an icon theme) and its image is 0.1 GiB bigger;
# with instant clones the boot is paid once per template version, not per desktop. Inside:
# systemd, Xorg on the kernel's QXL driver (qxl.ko) through Xorg's modesetting driver (with
# Xorg's own qxl driver, xserver-xorg-video-qxl, 3 of 5 cold boots here painted nothing: the
# screen stayed black in QMP screendumps and so in every clone), LightDM logging the user "floe"
# in automatically, Xfce
# (panel and menu, xfce4-terminal, the Mousepad text editor, Thunar), spice-vdagent in the session, qemu-guest-agent,
# PulseAudio, xclip and xrandr (tests use them), systemd-networkd for a NIC when there is one.
#
# Once the session's panel and desktop are mapped, the guest writes FLOE-DESKTOP-READY on its
# serial port (ttyS0, writable by the desktop user through the dialout group: tests print to it
# too).
#
# Usage: bash guest/build-desktop.sh [IMAGE_DIR]  (default $FLOE_IMAGE_DIR, else <repo>/.data/images)
# Output: IMAGE_DIR/desktop/{vmlinuz,initrd.img,base.qcow2,stamp}. Progress lines read
# "guest/build-desktop.sh: step N/6: ..." (Floe logs them while it builds in the background).
# A second run with the same recipe (the hash of this script's lines that are not comments)
# exits at once. Run as root.
set -euo pipefail

script_path="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
repo_root="$(cd "$(dirname "$script_path")/.." && pwd)"
image_dir="${1:-${FLOE_IMAGE_DIR:-$repo_root/.data/images}}"
mkdir -p "$image_dir"
image_dir="$(cd "$image_dir" && pwd)"
out_dir="$image_dir/desktop"
recipe="$(grep -v '^ *#' "$script_path" | sha256sum | cut -c1-16)"
steps=6

say() { echo "guest/build-desktop.sh: $*"; }
step() { say "step $1/$steps: $2"; }
fail() { echo "guest/build-desktop.sh: error: $*" >&2; exit 1; }

exec 9>"$image_dir/.build-desktop.lock"
flock 9

if [[ -f "$out_dir/base.qcow2" && -f "$out_dir/stamp" ]] && grep -qx "recipe=$recipe" "$out_dir/stamp"; then
  say "desktop template is up to date in $out_dir"
  exit 0
fi
started=$(date +%s)

step 1 "host tools (mmdebstrap, qemu-utils, e2fsprogs)"
missing=()
command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
command -v qemu-img >/dev/null || missing+=(qemu-utils)
command -v mkfs.ext4 >/dev/null || missing+=(e2fsprogs)
if ((${#missing[@]})); then
  apt-get update -qq || fail "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" || fail "could not install ${missing[*]}"
fi

work="$(mktemp -d "$image_dir/.desktop-build.XXXXXX")"
# mmdebstrap mounts the host's /dev/shm, /dev/pts, /proc and /sys inside the chroot; a build
# stopped part-way (Ctrl+C, Floe stopped) can leave them there, and removing the work folder
# through them once emptied this host's /dev/shm. Detach whatever is mounted below it first,
# and never remove across a file system boundary.
remove_work() {
  local target
  for target in $(findmnt -rn -o TARGET | grep -F "$work/" | sort -r || true); do umount -l "$target" || true; done
  rm -rf --one-file-system "$work"
}
trap remove_work EXIT
rootfs="$work/rootfs"

packages=(
  linux-image-amd64 systemd-sysv udev dbus dbus-x11 libpam-systemd procps iproute2 iputils-ping
  xserver-xorg-core xserver-xorg-input-libinput x11-utils x11-xserver-utils
  xfce4-session xfwm4 xfce4-panel xfdesktop4 thunar xfce4-terminal mousepad xfce4-settings xfce4-appfinder
  lightdm spice-vdagent qemu-guest-agent pulseaudio pulseaudio-utils alsa-utils sox xclip fonts-dejavu-core
  netcat-openbsd curl ca-certificates
)

step 2 "mmdebstrap: ${#packages[@]} packages from Debian bookworm (about 280 MB to download)"
mmdebstrap --variant=apt --mode=root --format=directory --quiet \
  --components=main \
  --include="$(IFS=,; echo "${packages[*]}")" \
  --aptopt='APT::Install-Recommends "false"' \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \
  bookworm "$rootfs" \
  "deb http://deb.debian.org/debian bookworm main" \
  "deb http://deb.debian.org/debian bookworm-updates main" \
  "deb http://deb.debian.org/debian-security bookworm-security main" \
  || fail "mmdebstrap failed"

step 3 "configuring: auto-login, panel, ready marker, network"
echo floe-desktop >"$rootfs/etc/hostname"
printf '/dev/vda / ext4 rw,discard,errors=remount-ro 0 1\n' >"$rootfs/etc/fstab"
printf 'nameserver 10.0.2.3\n' >"$rootfs/etc/resolv.conf"
chroot "$rootfs" useradd --create-home --shell /bin/bash --groups dialout,tty,audio,video floe
chroot "$rootfs" passwd -d floe >/dev/null
cat >"$rootfs/etc/lightdm/lightdm.conf" <<'EOF'
[Seat:*]
autologin-user=floe
autologin-user-timeout=0
user-session=xfce
EOF
# LightDM's autologin goes through PAM's "autologin" group check.
chroot "$rootfs" groupadd -f -r autologin
chroot "$rootfs" usermod -aG autologin floe
# Skip the panel's first-run question: start from the default layout.
panel_xml="$rootfs/home/floe/.config/xfce4/xfconf/xfce-perchannel-xml"
mkdir -p "$panel_xml"
cp "$rootfs/etc/xdg/xfce4/panel/default.xml" "$panel_xml/xfce4-panel.xml"
# No screen saver, no lock, no power manager: a desktop in a browser tab must not blank.
cat >"$rootfs/usr/local/bin/floe-session-ready" <<'EOF'
#!/bin/sh
# Writes FLOE-DESKTOP-READY on the serial port once Xfce's panel and its desktop (xfdesktop:
# background and icons) are mapped; the host then waits for the screen to hold still.
xset s off -dpms 2>/dev/null
i=0
until tree="$(xwininfo -root -tree 2>/dev/null)" && echo "$tree" | grep -q '"xfce4-panel"' && echo "$tree" | grep -q '"xfdesktop"'; do
  i=$((i + 1)); [ "$i" -gt 600 ] && break
  sleep 0.5
done
echo "FLOE-DESKTOP-READY" >/dev/ttyS0
EOF
chmod 755 "$rootfs/usr/local/bin/floe-session-ready"
cat >"$rootfs/etc/xdg/autostart/floe-session-ready.desktop" <<'EOF'
[Desktop Entry]
Type=Application
Name=Floe ready marker
Exec=/usr/local/bin/floe-session-ready
NoDisplay=true
EOF
# The screen follows the browser window: the SPICE client's monitor config reaches the kernel's
# QXL driver, which offers the window's size as the output's preferred mode and signals a
# hotplug; spice-vdagent does not switch to it under Xfce (seen: xrandr lists 1280x728 as
# preferred while 1024x768 stays current), so the session does, on every RandR change.
cat >"$rootfs/usr/local/bin/floe-follow-size" <<'EOF'
#!/bin/sh
# Switches the first connected output to its preferred mode whenever that is not the current one.
follow() {
  xrandr -q | awk '/ connected/ { out = $1 } /^ +[0-9]+x[0-9]+/ && /\+/ && !/\*/ && out { print out; exit }' |
    while read -r out; do xrandr --output "$out" --auto; done
}
follow
xev -root -event randr | while read -r line; do
  case "$line" in RR*) follow ;; esac
done
EOF
chmod 755 "$rootfs/usr/local/bin/floe-follow-size"
cat >"$rootfs/etc/xdg/autostart/floe-follow-size.desktop" <<'EOF'
[Desktop Entry]
Type=Application
Name=Floe screen size follows the window
Exec=/usr/local/bin/floe-follow-size
NoDisplay=true
EOF
# The serial port stays a plain device (no getty) so the desktop user may write to it.
chroot "$rootfs" systemctl mask serial-getty@ttyS0.service >/dev/null 2>&1
chroot "$rootfs" systemctl mask systemd-networkd-wait-online.service apt-daily.timer apt-daily-upgrade.timer man-db.timer e2scrub_all.timer fstrim.timer >/dev/null 2>&1
cat >"$rootfs/etc/systemd/network/80-floe.network" <<'EOF'
[Match]
Name=en*
[Network]
DHCP=yes
EOF
chroot "$rootfs" systemctl enable systemd-networkd.service >/dev/null 2>&1
chroot "$rootfs" chown -R floe:floe /home/floe
rm -rf "$rootfs/var/cache/apt/archives/"*.deb "$rootfs/var/lib/apt/lists/"*

step 4 "kernel and initrd"
mkdir -p "$out_dir"
kernel="$(ls "$rootfs"/boot/vmlinuz-* | sort -V | tail -1)"
initrd="$(ls "$rootfs"/boot/initrd.img-* | sort -V | tail -1)"
[[ -f $kernel && -f $initrd ]] || fail "no kernel or initrd in the root file system"
cp "$kernel" "$work/vmlinuz"
cp "$initrd" "$work/initrd.img"

step 5 "ext4 file system (4 GiB) into qcow2"
truncate -s 4G "$work/root.ext4"
mkfs.ext4 -q -L floe-root -d "$rootfs" "$work/root.ext4" || fail "mkfs.ext4 failed"
qemu-img convert -O qcow2 "$work/root.ext4" "$work/base.qcow2"

step 6 "installing into $out_dir"
# A new recipe makes new files; the old base stays only if desktops still sit on it (named by recipe).
for f in vmlinuz initrd.img base.qcow2; do mv -f "$work/$f" "$out_dir/$f"; done
cat >"$out_dir/stamp" <<EOF
recipe=$recipe
built=$(date -u +%Y-%m-%dT%H:%M:%SZ)
seconds=$(($(date +%s) - started))
EOF
say "done in $(($(date +%s) - started)) s: base.qcow2 $(du -h "$out_dir/base.qcow2" | cut -f1) on disk"
