/**
 * The qemu-system-x86_64 command line for one desktop, and the layout of its folder
 * (`DATA/desktops/<id>/`: disk.qcow2, qemu.pid, serial.log, qemu.log, vm.json). Its unix
 * sockets (qmp.sock, qga.sock) live apart in a short runtime folder (`RUNTIME/<id>/`, as
 * libvirt keeps them under /run), since a socket path may hold only 107 bytes and a data
 * folder may be deep. Kept apart from the process handling so that the arguments can be read
 * in one place.
 *
 * SPICE: loopback only, ticketing on (no `disable-ticketing`: every login is refused until a
 * password is set over QMP), no JPEG or WAN compression (spice-html5 cannot draw JPEG), no
 * spiceport chardevs (spice-html5's port channel throws). Files go through `-chardev` and
 * `-drive` options, whose commas are escaped by doubling.
 */
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import type { Accelerator, TemplateSpec } from '../types';

export const QEMU_BINARY = 'qemu-system-x86_64';

/** File names inside a desktop's folder. */
export const DESKTOP_FILES = {
  disk: 'disk.qcow2',
  qmpSocket: 'qmp.sock',
  peerQmpSocket: 'qmp-peer.sock',
  agentSocket: 'qga.sock',
  pidFile: 'qemu.pid',
  serialLog: 'serial.log',
  qemuLog: 'qemu.log',
  vmRecord: 'vm.json',
} as const;

export interface DesktopPaths {
  folder: string;
  /** The desktop's runtime folder (its unix sockets). */
  sockets: string;
  disk: string;
  qmpSocket: string;
  /** The qemu-guest-agent's channel (guest-ping for readiness). */
  agentSocket: string;
  pidFile: string;
  serialLog: string;
  qemuLog: string;
  vmRecord: string;
}

/** Longest unix socket path Linux accepts (sun_path is 108 bytes with the final NUL). */
export const MAX_SOCKET_PATH = 107;
/** Longest desktop id (see the hypervisor's id pattern). */
const MAX_ID_LENGTH = 63;

/**
 * The runtime folder for the sockets of the VMs of `dataDir`: `<root>/<hash of dataDir>`, the
 * root being FLOE_RUNTIME_DIR, else /run/floe for root, else $XDG_RUNTIME_DIR/floe, else
 * /tmp/floe-<uid>. The hash keeps two Floes with different data folders apart.
 */
export function defaultRuntimeDir(dataDir: string, root = process.env.FLOE_RUNTIME_DIR): string {
  const uid = process.getuid?.() ?? 0;
  const base =
    root || (uid === 0 ? '/run/floe' : process.env.XDG_RUNTIME_DIR ? path.join(process.env.XDG_RUNTIME_DIR, 'floe') : path.join(os.tmpdir(), `floe-${uid}`));
  return path.join(base, createHash('sha256').update(path.resolve(dataDir)).digest('hex').slice(0, 12));
}

/** Throws, naming the folder, when the sockets of the longest desktop id would not fit in a socket path. */
export function checkRuntimeDir(runtimeDir: string): void {
  const longest = path.join(runtimeDir, 'x'.repeat(MAX_ID_LENGTH), DESKTOP_FILES.agentSocket);
  if (Buffer.byteLength(longest) > MAX_SOCKET_PATH) {
    throw new Error(
      `runtime folder path too long for a unix socket (${Buffer.byteLength(longest)} > ${MAX_SOCKET_PATH} bytes): ${runtimeDir}; set FLOE_RUNTIME_DIR to a short folder such as /run/floe`,
    );
  }
}

/**
 * The peer QMP socket beside a VM's QMP socket: QEMU serves one client per monitor, and the
 * first (qmp.sock) is held by the Floe process that drives the VM; another replica on the same
 * machine sends its commands (a console password, a reset) here, connecting for each.
 */
export function peerQmpSocketOf(qmpSocket: string): string {
  return path.join(path.dirname(qmpSocket), DESKTOP_FILES.peerQmpSocket);
}

export function desktopPaths(dataDir: string, id: string, runtimeDir: string): DesktopPaths {
  const folder = path.join(dataDir, 'desktops', id);
  const sockets = path.join(runtimeDir, id);
  return {
    folder,
    sockets,
    disk: path.join(folder, DESKTOP_FILES.disk),
    qmpSocket: path.join(sockets, DESKTOP_FILES.qmpSocket),
    agentSocket: path.join(sockets, DESKTOP_FILES.agentSocket),
    pidFile: path.join(folder, DESKTOP_FILES.pidFile),
    serialLog: path.join(folder, DESKTOP_FILES.serialLog),
    qemuLog: path.join(folder, DESKTOP_FILES.qemuLog),
    vmRecord: path.join(folder, DESKTOP_FILES.vmRecord),
  };
}

/** Escapes a value for a QEMU option list (`a=b,c=d`): a comma is written twice. */
export function escapeOptionValue(value: string): string {
  return value.replace(/,/g, ',,');
}

export interface QemuLaunch {
  id: string;
  paths: DesktopPaths;
  template: TemplateSpec;
  accelerator: Accelerator;
  spiceHost: string;
  spicePort: number;
}

export function buildQemuArgs(launch: QemuLaunch): string[] {
  const { id, paths, template, accelerator, spiceHost, spicePort } = launch;
  const spice = [
    `port=${spicePort}`,
    `addr=${spiceHost}`,
    'image-compression=auto_lz',
    'jpeg-wan-compression=never',
    'zlib-glz-wan-compression=never',
    'streaming-video=off',
  ].join(',');
  const args = [
    '-name',
    `floe-${id}`,
    '-machine',
    'q35,mem-merge=on',
    '-accel',
    accelerator === 'tcg' && template.tbSizeMiB ? `tcg,tb-size=${template.tbSizeMiB}` : accelerator,
    ...(accelerator === 'kvm' ? ['-cpu', 'host'] : []),
    '-m',
    String(template.memoryMiB),
    '-smp',
    String(template.vcpus),
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    '-vga',
    'qxl',
    '-spice',
    spice,
    // The SPICE agent channel (mouse mode, resize, file transfer) for guests that run one.
    '-device',
    'virtio-serial-pci,id=virtio-serial0',
    '-chardev',
    'spicevmc,id=vdagent,name=vdagent',
    '-device',
    'virtserialport,bus=virtio-serial0.0,chardev=vdagent,name=com.redhat.spice.0',
    // qemu-guest-agent's channel, for guests that run it (readiness by guest-ping).
    '-chardev',
    `socket,id=qga0,path=${escapeOptionValue(paths.agentSocket)},server=on,wait=off`,
    '-device',
    'virtserialport,bus=virtio-serial0.0,chardev=qga0,name=org.qemu.guest_agent.0',
    '-device',
    'qemu-xhci,id=usb',
    '-device',
    'usb-tablet,bus=usb.0',
    // auto-read-only off: the disk stays open read-write from start (as root) to exit. With it
    // on, saving or restoring a snapshot reopens the file by path, which QEMU, no longer root
    // (-runas, qemu-confinement.ts), may not do: "bdrv_inactivate_all() failed".
    '-drive',
    `file=${escapeOptionValue(paths.disk)},if=virtio,format=qcow2,file.auto-read-only=off`,
    '-chardev',
    `file,id=serial0,path=${escapeOptionValue(paths.serialLog)}`,
    '-serial',
    'chardev:serial0',
    '-chardev',
    `socket,id=qmp,path=${escapeOptionValue(paths.qmpSocket)},server=on,wait=off`,
    '-mon',
    'chardev=qmp,mode=control',
    // A second monitor for Floe replicas that do not drive this VM (one command at a time).
    '-chardev',
    `socket,id=qmp-peer,path=${escapeOptionValue(peerQmpSocketOf(paths.qmpSocket))},server=on,wait=off`,
    '-mon',
    'chardev=qmp-peer,mode=control',
    '-pidfile',
    paths.pidFile,
  ];
  args.push(...deviceArgs(template));
  if (template.kernel) args.push('-kernel', template.kernel);
  if (template.initrd) args.push('-initrd', template.initrd);
  if (template.kernel && template.kernelArgs) args.push('-append', template.kernelArgs);
  return args;
}

/** The optional devices of a template (see TemplateSpec.devices). */
function deviceArgs(template: TemplateSpec): string[] {
  const args: string[] = [];
  const devices = template.devices ?? {};
  if (devices.sound) {
    // HDA output goes to the SPICE playback channel (spice-html5 plays it).
    args.push('-audiodev', 'spice,id=audio0', '-device', 'ich9-intel-hda,id=sound0', '-device', 'hda-output,bus=sound0.0,audiodev=audio0');
  }
  if (devices.rng) args.push('-object', 'rng-random,id=rng0,filename=/dev/urandom', '-device', 'virtio-rng-pci,rng=rng0');
  if (devices.balloon) args.push('-device', 'virtio-balloon-pci,id=balloon0');
  if (template.network === 'nat') {
    // QEMU's user-mode network: the guest's connections become sockets QEMU opens on the host,
    // outbound only (no hostfwd). IPv4 only; its host alias 10.0.2.2 (the host's loopback) and
    // every other address of this host are refused by server/host/guest-firewall.ts, which Floe
    // loads before a nat desktop starts. The MAC is fixed: clones share the template's anyway.
    args.push('-netdev', 'user,id=net0,ipv6=off,net=10.0.2.0/24', '-device', 'virtio-net-pci,netdev=net0,id=nic0,mac=52:54:00:f1:0e:01');
  }
  return args;
}
