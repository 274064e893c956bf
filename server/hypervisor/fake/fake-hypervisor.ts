/**
 * An in-memory hypervisor for the broker's unit tests: VMs "boot" when the test says so (or at
 * once), can be made to fail or die, and survive a "restart" of Floe when the same instance is
 * handed to a new broker. Never used outside tests; end-to-end tests use real QEMU.
 */
import { type DesktopSpec, type Hypervisor, LivenessUnknownError, type Readiness, type VmExitListener, type VmInfo } from '../types';

interface FakeVm {
  info: VmInfo;
  ready: boolean;
  waiters: { resolve: () => void; reject: (error: Error) => void }[];
  password?: { value: string; validForSeconds: number };
}

export class FakeHypervisor implements Hypervisor {
  readonly vms = new Map<string, FakeVm>();
  readonly disks = new Set<string>();
  readonly started: string[] = [];
  /** Ids of the VMs reset, in order. */
  readonly resets: string[] = [];
  private readonly listeners: VmExitListener[] = [];
  private nextPort = 20000;
  /** When true, started VMs are ready at once; else call `markReady(id)`. */
  autoReady = true;
  /** When set, `start` rejects with this message. */
  failStart: string | undefined;
  /** VMs whose liveness cannot be told (like /proc unreadable on EMFILE): stop, destroy and list reject. */
  readonly cannotTell = new Set<string>();

  /**
   * VMs on a "host that does not answer" (like the libvirt driver's): `list` leaves them out
   * without failing, `livenessUnknown` says so, and the other calls reject as for `cannotTell`.
   */
  readonly onSilentHost = new Set<string>();

  livenessUnknown(id: string): boolean {
    return this.onSilentHost.has(id);
  }

  private checkTellable(id?: string): void {
    if (id !== undefined && this.onSilentHost.has(id)) throw new LivenessUnknownError(`the VM of ${id}`, new Error('its host does not answer'));
    const ids = id === undefined ? [...this.cannotTell] : this.cannotTell.has(id) ? [id] : [];
    if (ids.length > 0) throw new LivenessUnknownError(`the VM of ${ids.join(', ')}`, new Error('EMFILE: too many open files'));
  }

  async start(spec: DesktopSpec): Promise<VmInfo> {
    if (this.failStart) throw new Error(this.failStart);
    if (this.vms.has(spec.id)) throw new Error(`VM ${spec.id} already runs`);
    const info: VmInfo = {
      id: spec.id,
      pid: 100000 + this.started.length,
      spiceHost: '127.0.0.1',
      spicePort: this.nextPort++,
      accelerator: 'tcg',
      startedAt: Date.now(),
    };
    this.disks.add(spec.id);
    this.started.push(spec.id);
    this.vms.set(spec.id, { info, ready: this.autoReady, waiters: [] });
    return info;
  }

  async waitReady(id: string, _readiness: Readiness, _timeoutMs: number): Promise<void> {
    const vm = this.vms.get(id);
    if (!vm) throw new Error(`VM ${id} is not running`);
    if (vm.ready) return;
    await new Promise<void>((resolve, reject) => vm.waiters.push({ resolve, reject }));
  }

  markReady(id: string): void {
    const vm = this.vms.get(id);
    if (!vm) throw new Error(`VM ${id} is not running`);
    vm.ready = true;
    for (const w of vm.waiters.splice(0)) w.resolve();
  }

  async setConsolePassword(id: string, password: string, validForSeconds: number): Promise<void> {
    const vm = this.vms.get(id);
    if (!vm) throw new Error(`VM ${id} is not running`);
    vm.password = { value: password, validForSeconds };
  }

  passwordOf(id: string): string | undefined {
    return this.vms.get(id)?.password?.value;
  }

  async reset(id: string): Promise<void> {
    const vm = this.vms.get(id);
    if (!vm) throw new Error(`VM ${id} is not running`);
    this.resets.push(id);
    // The guest boots again: not ready until it says so (at once when autoReady).
    vm.ready = this.autoReady;
  }

  async stop(id: string): Promise<void> {
    this.checkTellable(id);
    const vm = this.vms.get(id);
    this.vms.delete(id);
    for (const w of vm?.waiters.splice(0) ?? []) w.reject(new Error('VM stopped'));
  }

  async destroy(id: string): Promise<void> {
    this.checkTellable(id);
    await this.stop(id);
    this.disks.delete(id);
  }

  async list(): Promise<VmInfo[]> {
    this.checkTellable();
    return [...this.vms.values()].filter((vm) => !this.onSilentHost.has(vm.info.id)).map((vm) => vm.info);
  }

  onExit(listener: VmExitListener): void {
    this.listeners.push(listener);
  }

  /** Simulates a QEMU that dies (kill -9). */
  crash(id: string, reason = 'killed by signal SIGKILL'): void {
    const vm = this.vms.get(id);
    this.vms.delete(id);
    for (const w of vm?.waiters.splice(0) ?? []) w.reject(new Error(reason));
    for (const listener of this.listeners) listener(id, reason);
  }
}
