/**
 * The one interface the broker uses to drive virtual machines. A hypervisor turns a desktop
 * spec (a template plus an id) into a running VM with a SPICE endpoint, sets console
 * passwords, stops, resets and destroys VMs, and re-finds the VMs it left running so that a
 * restarted Floe can adopt them. The embedded default is `qemu/` (one qemu-system process per
 * desktop); others (libvirt) implement the same interface.
 */
import type { Words } from '../words';

export type Accelerator = 'kvm' | 'tcg';

/**
 * A hypervisor could not tell whether a VM still runs (out of file handles, a busy or silent
 * QMP socket...). Never a reason to fail or delete anything: leave the desktop as it is and
 * ask again later. Answered 503 where a person asked.
 */
export class LivenessUnknownError extends Error {
  readonly status = 503;
  readonly words: Words = { code: 'livenessUnknown' };
  constructor(what: string, readonly cause?: unknown) {
    super(`Floe cannot tell right now whether ${what} still runs${cause instanceof Error ? ` (${cause.message})` : ''}; it is left as it is and checked again shortly.`);
    this.name = 'LivenessUnknownError';
  }
}
export type AcceleratorChoice = Accelerator | 'auto';

/** How Floe knows a guest has finished booting. */
export type Readiness =
  /** `agent`: the guest also runs qemu-guest-agent, so a clone gets its clock set through it. */
  | { kind: 'serial-marker'; marker: string; agent?: boolean }
  | { kind: 'guest-agent' }
  | { kind: 'delay'; seconds: number };

/** What a desktop is made from. Paths are absolute. */
export interface TemplateSpec {
  /** Base disk image (qcow2); each desktop gets a copy-on-write overlay of it. */
  baseImage: string;
  /** Direct kernel boot (the demo guest); omit to boot from the disk. */
  kernel?: string;
  initrd?: string;
  kernelArgs?: string;
  memoryMiB: number;
  vcpus: number;
  readiness: Readiness;
  /** TCG's translation cache in MiB (`-accel tcg,tb-size=`); QEMU's default is 1 GiB, most of a desktop's memory. */
  tbSizeMiB?: number;
  /** Extra paravirtual devices of full guests: sound (HDA to SPICE playback), virtio-rng, virtio-balloon. */
  devices?: { sound?: boolean; rng?: boolean; balloon?: boolean };
  /**
   * The guest's network: none (default, no NIC), or `nat`: a virtio NIC on QEMU's user-mode
   * network, outbound only, with every connection to this host refused (server/host/guest-firewall.ts).
   */
  network?: GuestNetwork;
  /**
   * Before its snapshot is saved, the template VM's screen must be painted and hold still (the
   * same screen dump, not all one colour, for 2 s): a graphical session goes on painting after
   * its ready marker, and a snapshot taken then gives clones a black or half-drawn screen.
   */
  steadyScreen?: boolean;
}

export type GuestNetwork = 'none' | 'nat';

/**
 * A booted template's saved state (instant clones): the RAM and device state, and the frozen
 * disk layer it belongs to. Made by the hypervisor's snapshot store (`SnapshotSource`).
 */
export interface TemplateSnapshotRef {
  /** Hash of everything a restore must match (template, sizes, accelerator, QEMU, version). */
  key: string;
  stateFile: string;
  frozenDisk: string;
}

export interface DesktopSpec {
  /** Desktop id: lowercase letters, digits and dashes only (used in file names). */
  id: string;
  template: TemplateSpec;
  /**
   * Start a desktop that has no disk yet as a clone of this snapshot (its disk an overlay of
   * the frozen layer). A desktop whose disk exists boots cold from it. When the restore fails,
   * the hypervisor marks the snapshot bad, logs why and boots the desktop cold instead.
   */
  snapshot?: TemplateSnapshotRef;
  /**
   * The desktop has never had a disk (the broker knows: it has no template version yet). A
   * driver over several hosts need not wait for a silent host that might hold its disk.
   */
  fresh?: boolean;
}

/** Where a template's snapshot stands (shown on the admin pool page). */
export interface SnapshotStatus {
  state: 'none' | 'building' | 'ready' | 'bad' | 'failed';
  key?: string;
  version: string;
  createdAt?: number;
  stateBytes?: number;
  buildMs?: number;
  /** Why it is bad or failed. */
  reason?: string;
}

/** Template snapshots by template and version: built once in the background, then reused. */
export interface SnapshotSource {
  /** The ready snapshot, or undefined (and a build starts in the background if there is none). */
  ready(template: TemplateSpec, version: string): Promise<TemplateSnapshotRef | undefined>;
  /** Builds (or reuses) the snapshot and resolves when it is ready. */
  build(template: TemplateSpec, version: string): Promise<TemplateSnapshotRef>;
  status(template: TemplateSpec, version: string): Promise<SnapshotStatus>;
}

/** A VM the hypervisor runs (or ran and re-found). */
export interface VmInfo {
  id: string;
  pid: number;
  spiceHost: string;
  spicePort: number;
  accelerator: Accelerator;
  /** Epoch milliseconds when QEMU was started. */
  startedAt: number;
  /** The snapshot key this VM was restored from (an instant clone); absent for a cold boot. */
  restoredFrom?: string;
}

export type VmExitListener = (id: string, reason: string) => void;

export interface Hypervisor {
  /**
   * Creates the desktop's overlay disk if it does not exist yet (an existing one is reused,
   * which is how persistent desktops keep their files) and starts the VM. Resolves once QEMU
   * runs and answers QMP, before the guest has booted.
   */
  start(spec: DesktopSpec): Promise<VmInfo>;
  /** Resolves when the guest is ready by the template's readiness rule; rejects on timeout or VM exit. */
  waitReady(id: string, readiness: Readiness, timeoutMs: number): Promise<void>;
  /** Sets the SPICE password over QMP, valid for `validForSeconds` for new channel logins. */
  setConsolePassword(id: string, password: string, validForSeconds: number): Promise<void>;
  /** Hard reset of the guest (like the reset button). */
  reset(id: string): Promise<void>;
  /** Stops the VM (QMP quit, then SIGKILL after a grace period); keeps its disk. */
  stop(id: string): Promise<void>;
  /** Stops the VM if running and deletes its disk and files. */
  destroy(id: string): Promise<void>;
  /** VMs running now, including ones started by an earlier Floe process (from the data folder). */
  list(): Promise<VmInfo[]>;
  /** Called when a VM's QEMU process exits or its QMP socket closes unexpectedly. */
  onExit(listener: VmExitListener): void;
  /**
   * Whether the driver cannot tell now if this VM runs (its host does not answer): `list()`
   * may then leave it out without proving it gone. Drivers on one machine always know.
   */
  livenessUnknown?(id: string): boolean;
  /**
   * Resolves once no start is under way, or after `timeoutMs` (drivers whose starts leave nothing
   * behind when Floe exits need not have it). Floe's shutdown waits on it.
   */
  startsSettled?(timeoutMs: number): Promise<void>;
}
