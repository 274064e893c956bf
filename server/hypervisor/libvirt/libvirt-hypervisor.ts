/**
 * The libvirt driver: desktops as transient libvirt domains on one or more hosts (libvirt
 * URIs), driven through `virsh` (see virsh.ts for why). Each host keeps a storage pool (`floe`
 * by default) with the template volumes (`installTemplate`) and the desktops' overlay disks
 * (`desktop-<id>.qcow2`, backed by the template) and serial logs. A domain is named
 * `<owner>-<id>` and carries Floe's metadata element (domain-xml.ts), by which a restarted Floe
 * finds its domains again; another Floe sharing the host (another owner) is never touched.
 *
 * Liveness: every host is asked for its running domains once per `pollMs`. A domain missing
 * from a host's answer has exited (proof: libvirt said so) and is reported to `onExit`; a host
 * that does not answer (HostUnreachableError) proves nothing: after two failed polls in a row
 * (under 10 s with the defaults; one for a host that has never answered since this Floe
 * started, which Floe does not wait for) it is `down`, its desktops are `unreachable` and nothing of
 * them is reported, stopped or deleted; when it answers again they are reachable again (or
 * reported gone if libvirt no longer runs them). Calls that need a down host throw
 * LivenessUnknownError.
 *
 * Placement of a new desktop: hosts.ts (`chooseHost`). An existing disk pins a desktop to its
 * host. Instant clones (template snapshots) are not offered by this driver: it has no
 * SnapshotSource, and a spec's `snapshot` is ignored (the desktop boots cold).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { log } from '../../log';
import { PerIdQueue } from '../per-id-queue';
import {
  type DesktopSpec,
  type Hypervisor,
  LivenessUnknownError,
  type Readiness,
  type TemplateSpec,
  type VmExitListener,
  type VmInfo,
} from '../types';
import {
  type DesktopMetadata,
  FLOE_METADATA_KEY,
  FLOE_METADATA_URI,
  buildDomainXml,
  metadataElement,
  overlayVolumeXml,
  parseMetadata,
  parseSpiceGraphics,
  passwordUpdateXml,
  passwordValidTo,
} from './domain-xml';
import { type HostDefinition, NoHostError, chooseHost } from './hosts';
import { HostUnreachableError, Virsh, VirshError, isNoSuchDomain, isNoSuchVolume } from './virsh';

const libvirtLog = log.child({ module: 'libvirt' });
const ID_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,62})$/;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export type HostState = 'up' | 'down' | 'unknown';

/** What the admin page shows of a host. */
export interface HostStatus {
  name: string;
  uri: string;
  state: HostState;
  /** Why it is down (libvirt's or virsh's words). */
  problem?: string;
  /** Epoch ms of its last answer. */
  lastSeenAt?: number;
  memoryTotalBytes?: number;
  memoryFreeBytes?: number;
  cpus?: number;
  desktops: number;
  maxDesktops?: number;
  /** KSM on the host (libvirt's node-memory-tune): pages shared and sharing. */
  ksm?: { pagesShared: number; pagesSharing: number; fullScans: number };
  /** Template volumes in its pool. */
  volumes: string[];
}

export interface LibvirtHypervisorOptions {
  hosts: HostDefinition[];
  /** Names this Floe's domains (`<owner>-<id>`) and marks them in metadata (default `floe`). */
  owner?: string;
  /** How often each host is asked for its domains (default 1000 ms). */
  pollMs?: number;
  /** Time one virsh call may take (default 3000 ms). */
  virshTimeoutMs?: number;
  /** Failed polls in a row after which a host is down (default 2). */
  downAfterFailures?: number;
}

interface LibvirtHost {
  definition: HostDefinition;
  virsh: Virsh;
  state: HostState;
  failures: number;
  problem?: string;
  lastSeenAt?: number;
  /** Running domain names from its last answer. */
  running: Set<string>;
  /** Volume names in its pool from its last answer. */
  volumes: Set<string>;
  poolPath?: string;
  memory?: { totalBytes: number; freeBytes: number; cpus: number };
  ksm?: HostStatus['ksm'];
  polling: boolean;
  lastStatsAt: number;
}

interface LibvirtVm {
  id: string;
  host: LibvirtHost;
  domain: string;
  info: VmInfo;
  serialOffset: number;
  stopping: boolean;
  /** Epoch ms since when Floe knows the domain runs: a host's answer to an older question says nothing of it. */
  knownSince: number;
}

export class LibvirtHypervisor implements Hypervisor {
  readonly owner: string;
  private readonly hosts = new Map<string, LibvirtHost>();
  private readonly vms = new Map<string, LibvirtVm>();
  private readonly listeners: VmExitListener[] = [];
  private readonly queue = new PerIdQueue();
  private readonly pollMs: number;
  private readonly downAfter: number;
  private readonly virshTimeoutMs: number;
  private timer: NodeJS.Timeout | undefined;
  private readonly tempDir: string;

  constructor(options: LibvirtHypervisorOptions) {
    this.owner = options.owner ?? 'floe';
    if (!/^[a-z0-9-]{1,20}$/.test(this.owner)) throw new Error(`bad libvirt owner ${JSON.stringify(this.owner)}`);
    this.pollMs = options.pollMs ?? 1000;
    this.downAfter = options.downAfterFailures ?? 2;
    this.virshTimeoutMs = options.virshTimeoutMs ?? 3000;
    this.tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-libvirt-'));
    for (const definition of options.hosts) this.addHost(definition);
  }

  // --- hosts -------------------------------------------------------------------------------

  /** Adds a host (admin API); it is polled from now on. */
  addHost(definition: HostDefinition): void {
    if (this.hosts.has(definition.name)) throw new Error(`host ${definition.name} exists`);
    this.hosts.set(definition.name, {
      definition,
      virsh: new Virsh(definition.uri, this.virshTimeoutMs),
      state: 'unknown',
      failures: 0,
      running: new Set(),
      volumes: new Set(),
      polling: false,
      lastStatsAt: 0,
    });
  }

  /** Removes a host that runs none of this Floe's desktops. */
  removeHost(name: string): void {
    const host = this.hosts.get(name);
    if (!host) throw new Error(`no host ${name}`);
    const desktops = [...this.vms.values()].filter((vm) => vm.host === host).map((vm) => vm.id);
    if (desktops.length) throw new Error(`host ${name} still runs desktops ${desktops.join(', ')}`);
    this.hosts.delete(name);
  }

  hostDefinitions(): HostDefinition[] {
    return [...this.hosts.values()].map((host) => host.definition);
  }

  /** Every host with its state, memory, KSM figures and desktops (admin page). */
  hostStatus(): HostStatus[] {
    return [...this.hosts.values()].map((host) => ({
      name: host.definition.name,
      uri: host.definition.uri,
      state: host.state,
      ...(host.problem ? { problem: host.problem } : {}),
      ...(host.lastSeenAt ? { lastSeenAt: host.lastSeenAt } : {}),
      ...(host.memory ? { memoryTotalBytes: host.memory.totalBytes, memoryFreeBytes: host.memory.freeBytes, cpus: host.memory.cpus } : {}),
      desktops: [...this.vms.values()].filter((vm) => vm.host === host).length,
      ...(host.definition.maxDesktops ? { maxDesktops: host.definition.maxDesktops } : {}),
      ...(host.ksm ? { ksm: host.ksm } : {}),
      volumes: [...host.volumes].filter((name) => !name.startsWith('desktop-')).sort(),
    }));
  }

  /** The host a running desktop is on, and whether it answers (`unreachable` while its host is down). */
  desktopHost(id: string): { host: string; reachable: boolean } | undefined {
    const vm = this.vms.get(id);
    return vm ? { host: vm.host.definition.name, reachable: vm.host.state === 'up' } : undefined;
  }

  /** Starts polling every host (also started by the first call that needs it). */
  startPolling(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      for (const host of this.hosts.values()) void this.poll(host);
    }, this.pollMs);
    this.timer.unref();
  }

  /** Asks every host now and waits for the answers (start-up, tests). */
  async refresh(): Promise<void> {
    this.startPolling();
    await Promise.all([...this.hosts.values()].map((host) => this.poll(host, true)));
  }

  /**
   * One poll of a host: its running domains (every poll: exits are noticed from these); its
   * pool volumes, memory and KSM figures every 5 s or when forced.
   */
  private async poll(host: LibvirtHost, force = false): Promise<void> {
    if (host.polling && !force) return;
    host.polling = true;
    try {
      const askedAt = Date.now();
      const names = (await host.virsh.run(['list', '--name'])).split('\n').map((line) => line.trim()).filter(Boolean);
      host.running = new Set(names);
      if (Date.now() - host.lastStatsAt > 5000 || force) {
        host.volumes = new Set(await this.listVolumes(host));
        await this.readStats(host);
      }
      this.hostAnswered(host);
      await this.noticeDomains(host, askedAt);
    } catch (error) {
      this.hostFailed(host, error);
    } finally {
      host.polling = false;
    }
  }

  private async listVolumes(host: LibvirtHost): Promise<string[]> {
    const pool = host.definition.pool;
    if (!host.poolPath) {
      const xml = await host.virsh.run(['pool-dumpxml', pool]);
      host.poolPath = /<target>\s*<path>([^<]+)<\/path>/.exec(xml)?.[1];
      if (!host.poolPath) throw new VirshError(['pool-dumpxml'], `storage pool ${pool} has no target path`);
    }
    await host.virsh.run(['pool-refresh', pool]);
    return (await host.virsh.run(['vol-list', pool]))
      .split('\n')
      .map((line) => line.trim().split(/\s+/)[0] ?? '')
      .filter(Boolean);
  }

  private async readStats(host: LibvirtHost): Promise<void> {
    const [memory, info, tune] = await Promise.all([
      host.virsh.run(['nodememstats']),
      host.virsh.run(['nodeinfo']),
      host.virsh.run(['node-memory-tune']).catch(() => ''),
    ]);
    const kib = (name: string, text: string) => Number(new RegExp(`^\\s*${name}\\s*:\\s*(\\d+)`, 'm').exec(text)?.[1] ?? NaN) * 1024;
    const total = kib('total', memory);
    const free = kib('free', memory) + (kib('buffers', memory) || 0) + (kib('cached', memory) || 0);
    const cpus = Number(/^CPU\(s\):\s*(\d+)/m.exec(info)?.[1] ?? 0);
    if (Number.isFinite(total) && Number.isFinite(free)) host.memory = { totalBytes: total, freeBytes: free, cpus };
    const figure = (name: string) => Number(new RegExp(`${name}\\s+(\\d+)`).exec(tune)?.[1] ?? NaN);
    const shared = figure('shm_pages_shared');
    if (Number.isFinite(shared)) host.ksm = { pagesShared: shared, pagesSharing: figure('shm_pages_sharing'), fullScans: figure('shm_full_scans') };
    host.lastStatsAt = Date.now();
  }

  private hostAnswered(host: LibvirtHost): void {
    if (host.state !== 'up') libvirtLog.info({ host: host.definition.name }, host.state === 'down' ? 'host answers again' : 'host is up');
    host.state = 'up';
    host.failures = 0;
    host.problem = undefined;
    host.lastSeenAt = Date.now();
  }

  private hostFailed(host: LibvirtHost, error: unknown): void {
    host.failures += 1;
    host.problem = (error as Error).message;
    // A host that has never answered has no desktops known here to protect from a slow answer:
    // it is down at its first failure (a silent host at start-up is shown down within one timeout).
    if (host.state !== 'down' && (host.failures >= this.downAfter || host.lastSeenAt === undefined)) {
      host.state = 'down';
      libvirtLog.warn({ host: host.definition.name, err: host.problem }, 'host does not answer: marked down, its desktops unreachable');
    }
  }

  /** Adopts this Floe's domains a host runs and reports the exit of known ones it no longer runs. */
  private async noticeDomains(host: LibvirtHost, askedAt: number): Promise<void> {
    const prefix = `${this.owner}-`;
    for (const domain of host.running) {
      if (!domain.startsWith(prefix)) continue;
      const id = domain.slice(prefix.length);
      if (!ID_PATTERN.test(id) || this.vms.get(id)?.host === host) continue;
      if (this.vms.has(id) || this.queue.busy(id)) continue; // being started or stopped here
      await this.adopt(host, domain).catch((error: unknown) => {
        if (error instanceof HostUnreachableError) throw error;
        if (!isNoSuchDomain(error)) libvirtLog.warn({ host: host.definition.name, domain, err: (error as Error).message }, 'could not read a domain');
      });
    }
    for (const vm of [...this.vms.values()]) {
      if (vm.host !== host || host.running.has(vm.domain) || vm.stopping || this.queue.busy(vm.id) || vm.knownSince >= askedAt) continue;
      this.reportExit(vm, `libvirt on ${host.definition.name} no longer runs the domain ${vm.domain}`);
    }
  }

  private async adopt(host: LibvirtHost, domain: string): Promise<LibvirtVm | undefined> {
    const xml = await host.virsh.run(['dumpxml', domain]);
    const meta = parseMetadata(xml);
    if (!meta || meta.owner !== this.owner) return undefined;
    const spice = parseSpiceGraphics(xml);
    if (!spice) return undefined;
    const vm: LibvirtVm = {
      id: meta.id,
      host,
      domain,
      serialOffset: meta.serialOffset,
      stopping: false,
      knownSince: Date.now(),
      info: {
        id: meta.id,
        pid: 0,
        spiceHost: spice.listen === '0.0.0.0' ? host.definition.spiceListen : spice.listen,
        spicePort: spice.port,
        accelerator: /<domain[^>]*type=['"]kvm['"]/.test(xml) ? 'kvm' : 'tcg',
        startedAt: meta.startedAt,
      },
    };
    this.vms.set(meta.id, vm);
    libvirtLog.info({ id: meta.id, host: host.definition.name, spicePort: spice.port }, 'adopted a running domain');
    return vm;
  }

  private reportExit(vm: LibvirtVm, reason: string): void {
    if (this.vms.get(vm.id) !== vm) return;
    this.vms.delete(vm.id);
    if (vm.stopping) return;
    libvirtLog.warn({ id: vm.id, host: vm.host.definition.name, reason }, 'desktop domain exited unexpectedly');
    for (const listener of this.listeners) {
      try {
        listener(vm.id, reason);
      } catch (error) {
        libvirtLog.error({ id: vm.id, err: (error as Error).message }, 'VM exit listener threw');
      }
    }
  }

  // --- Hypervisor ----------------------------------------------------------------------------

  onExit(listener: VmExitListener): void {
    this.listeners.push(listener);
  }

  async start(spec: DesktopSpec): Promise<VmInfo> {
    const { id, template } = spec;
    this.checkId(id);
    return this.withLock(id, async () => {
      const silent = await this.askUnasked();
      const existing = this.vms.get(id);
      if (existing) {
        this.requireUp(existing.host, id);
        return existing.info;
      }
      const diskVolume = `desktop-${id}.qcow2`;
      const withDisk = this.hostWithDisk(diskVolume);
      // A desktop that had a disk may have it (and run) on a host that has never answered; a
      // fresh one (the broker's word) cannot, and is placed among the hosts that answer.
      if (!withDisk && !spec.fresh && silent.length) throw this.silentHostsError(id, silent);
      const host = withDisk ?? this.place(template);
      this.requireUp(host, id);
      const volumes = templateVolumes(template);
      const poolPath = host.poolPath ?? '';
      const newDesktop = !host.volumes.has(diskVolume);
      if (newDesktop) await this.createOverlay(host, diskVolume, volumes.baseImage);
      const meta: DesktopMetadata = { owner: this.owner, id, startedAt: Date.now(), serialOffset: 0 };
      const domain = `${this.owner}-${id}`;
      const xml = buildDomainXml({
        name: domain,
        metadata: meta,
        template,
        accelerator: host.definition.accelerator,
        disk: path.join(poolPath, diskVolume),
        serialLog: path.join(poolPath, serialVolume(id)),
        kernel: volumes.kernel && path.join(poolPath, volumes.kernel),
        initrd: volumes.initrd && path.join(poolPath, volumes.initrd),
        spiceListen: host.definition.spiceListen,
        lockedPassword: crypto.randomBytes(24).toString('base64url'),
      });
      const file = path.join(this.tempDir, `${domain}.xml`);
      await fs.promises.writeFile(file, xml);
      const startedAt = Date.now();
      try {
        await host.virsh.run(['create', file], { timeoutMs: 60_000 });
      } catch (error) {
        if (newDesktop && !(error instanceof HostUnreachableError)) {
          await host.virsh.run(['vol-delete', '--pool', host.definition.pool, diskVolume]).catch(() => undefined);
        }
        throw error;
      } finally {
        await fs.promises.rm(file, { force: true });
      }
      host.running.add(domain);
      const vm = await this.adopt(host, domain);
      if (!vm) throw new Error(`libvirt on ${host.definition.name} started ${domain} but shows no SPICE port for it`);
      libvirtLog.info({ id, host: host.definition.name, spicePort: vm.info.spicePort, ms: Date.now() - startedAt }, 'started desktop domain');
      return vm.info;
    });
  }

  async waitReady(id: string, readiness: Readiness, timeoutMs: number): Promise<void> {
    const vm = await this.running(id);
    const deadline = Date.now() + timeoutMs;
    const checkAlive = () => {
      if (this.vms.get(id) !== vm) throw new Error(`desktop ${id} exited before it was ready`);
    };
    switch (readiness.kind) {
      case 'delay': {
        if (readiness.seconds * 1000 > timeoutMs) throw new Error(`desktop ${id}: readiness delay is longer than the timeout`);
        const readyAt = Date.now() + readiness.seconds * 1000;
        while (Date.now() < readyAt) {
          checkAlive();
          await sleep(Math.min(200, readyAt - Date.now()));
        }
        return checkAlive();
      }
      case 'guest-agent':
        for (;;) {
          checkAlive();
          const answered = await vm.host.virsh
            .run(['qemu-agent-command', vm.domain, '{"execute":"guest-ping"}', '--timeout', '1'])
            .then(() => true, () => false);
          if (answered) return;
          if (Date.now() >= deadline) throw new Error(`desktop ${id}: the guest agent did not answer in time`);
          await sleep(500);
        }
      case 'serial-marker': {
        let position = vm.serialOffset;
        let carry = '';
        for (;;) {
          const chunk = await this.readSerial(vm, position).catch((error: unknown) => {
            if (error instanceof HostUnreachableError || isNoSuchVolume(error)) return undefined;
            throw error;
          });
          if (chunk && chunk.length > 0) {
            position += chunk.length;
            const text = carry + chunk.toString('latin1');
            if (text.includes(readiness.marker)) return;
            carry = text.slice(-readiness.marker.length);
          }
          checkAlive();
          if (Date.now() >= deadline) throw new Error(`desktop ${id}: no ready marker ${readiness.marker} on the serial port in time`);
          await sleep(500);
        }
      }
    }
  }

  /** The guest's serial output from byte `offset` on, read from the host's pool (works for remote hosts). */
  async readSerial(vm: LibvirtVm, offset: number): Promise<Buffer> {
    const host = vm.host;
    const name = serialVolume(vm.id);
    if (!host.volumes.has(name)) {
      await host.virsh.run(['pool-refresh', host.definition.pool]);
      host.volumes.add(name);
    }
    const file = path.join(this.tempDir, `${vm.id}.serial`);
    try {
      await host.virsh.run(['vol-download', '--pool', host.definition.pool, name, file, '--offset', String(offset)]);
      return await fs.promises.readFile(file);
    } catch (error) {
      if (isNoSuchVolume(error)) host.volumes.delete(name);
      throw error;
    } finally {
      await fs.promises.rm(file, { force: true });
    }
  }

  async setConsolePassword(id: string, password: string, validForSeconds: number): Promise<void> {
    if (!/^[\x21-\x7e]{1,59}$/.test(password)) {
      throw new Error('a SPICE password is 1 to 59 printable ASCII characters without spaces');
    }
    const vm = await this.running(id);
    const seconds = Math.max(1, Math.ceil(validForSeconds));
    const xml = passwordUpdateXml(vm.info.spicePort, vm.host.definition.spiceListen, password, passwordValidTo(seconds));
    const file = path.join(this.tempDir, `${vm.domain}-graphics-${crypto.randomUUID()}.xml`);
    await fs.promises.writeFile(file, xml, { mode: 0o600 });
    try {
      await vm.host.virsh.run(['update-device', vm.domain, file, '--live']);
    } finally {
      await fs.promises.rm(file, { force: true });
    }
  }

  async reset(id: string): Promise<void> {
    const vm = await this.running(id);
    // The guest prints its ready marker again: waitReady looks from the log's current end.
    const size = await this.readSerial(vm, vm.serialOffset).then((chunk) => vm.serialOffset + chunk.length, () => vm.serialOffset);
    vm.serialOffset = size;
    const meta: DesktopMetadata = { owner: this.owner, id, startedAt: vm.info.startedAt, serialOffset: size };
    await vm.host.virsh.run(['metadata', vm.domain, FLOE_METADATA_URI, '--key', FLOE_METADATA_KEY, '--set', metadataElement(meta), '--live']);
    await vm.host.virsh.run(['reset', vm.domain]);
  }

  async stop(id: string): Promise<void> {
    this.checkId(id);
    return this.withLock(id, () => this.stopUnlocked(id));
  }

  async destroy(id: string): Promise<void> {
    this.checkId(id);
    return this.withLock(id, async () => {
      await this.stopUnlocked(id);
      const diskVolume = `desktop-${id}.qcow2`;
      const host = this.hostWithDisk(diskVolume);
      if (!host) {
        // No answering host has its disk; one that does not answer might.
        const silent = [...this.hosts.values()].filter((h) => h.state !== 'up');
        if (silent.length) throw new LivenessUnknownError(`desktop ${id} (hosts not answering: ${silent.map((h) => h.definition.name).join(', ')})`);
        return;
      }
      // Proof before the disk goes: the host answered that it runs no domain of this desktop.
      const domains = (await host.virsh.run(['list', '--name'])).split('\n').map((s) => s.trim());
      if (domains.includes(`${this.owner}-${id}`)) throw new Error(`desktop ${id} still runs on ${host.definition.name}; its disk is not deleted`);
      for (const volume of [diskVolume, serialVolume(id)]) {
        await host.virsh.run(['vol-delete', '--pool', host.definition.pool, volume]).catch((error: unknown) => {
          if (!isNoSuchVolume(error)) throw error;
        });
        host.volumes.delete(volume);
      }
      libvirtLog.info({ id, host: host.definition.name }, 'destroyed desktop (disk removed)');
    });
  }

  /**
   * The desktops running on the hosts that have answered (and those last seen on hosts that are
   * down now). A host that has never answered since this Floe started may run more: they are
   * not listed, and `livenessUnknown` says which ids Floe cannot tell about.
   */
  async list(): Promise<VmInfo[]> {
    await this.askUnasked();
    return [...this.vms.values()].sort((a, b) => a.id.localeCompare(b.id)).map((vm) => vm.info);
  }

  /** Stops every desktop of this Floe on every host (tests, a throw-away setup). */
  async stopAll(): Promise<string[]> {
    await this.refresh();
    const ids = [...this.vms.keys()];
    await Promise.all(ids.map((id) => this.stop(id)));
    return ids;
  }

  /** Lets go of the domains without stopping them: polling ends. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.vms.clear();
    fs.rmSync(this.tempDir, { recursive: true, force: true });
  }

  /**
   * Copies a template's files (base image, kernel, initrd) into a host's pool as volumes named
   * `<folder>-<file>` (demo/base.qcow2 becomes demo-base.qcow2); a volume already there is kept.
   */
  async installTemplate(hostName: string, template: TemplateSpec): Promise<void> {
    const host = this.hosts.get(hostName);
    if (!host) throw new Error(`no host ${hostName}`);
    await this.poll(host, true);
    this.requireUp(host, `template ${template.baseImage}`);
    const volumes = templateVolumes(template);
    const files: [string | undefined, string | undefined][] = [
      [template.baseImage, volumes.baseImage],
      [template.kernel, volumes.kernel],
      [template.initrd, volumes.initrd],
    ];
    for (const [file, volume] of files) {
      if (!file || !volume || host.volumes.has(volume)) continue;
      const size = (await fs.promises.stat(file)).size;
      await host.virsh.run(['vol-create-as', host.definition.pool, volume, String(size), '--format', 'raw']);
      await host.virsh.run(['vol-upload', '--pool', host.definition.pool, volume, file], { timeoutMs: 600_000 });
      host.volumes.add(volume);
      libvirtLog.info({ host: hostName, volume, bytes: size }, 'copied a template file to the host');
    }
    await host.virsh.run(['pool-refresh', host.definition.pool]);
  }

  // --- internals -----------------------------------------------------------------------------

  private checkId(id: string): void {
    if (!ID_PATTERN.test(id)) throw new Error(`bad desktop id ${JSON.stringify(id)}: use lowercase letters, digits and dashes`);
  }

  /**
   * Asks every host that has no state yet (one try each, at most one virsh timeout) and returns
   * the hosts that have never answered since this Floe started: what they run is not known.
   */
  private async askUnasked(): Promise<LibvirtHost[]> {
    this.startPolling();
    const unasked = [...this.hosts.values()].filter((host) => host.state === 'unknown');
    if (unasked.length) await Promise.all(unasked.map((host) => this.poll(host, true)));
    return [...this.hosts.values()].filter((host) => host.state !== 'up' && host.lastSeenAt === undefined);
  }

  /** Every host was asked at least once and has answered (so a missing domain or disk means something). */
  private async ensureAsked(): Promise<void> {
    const silent = await this.askUnasked();
    if (silent.length) throw this.silentHostsError('the desktops', silent);
  }

  private silentHostsError(what: string, silent: LibvirtHost[]): LivenessUnknownError {
    return new LivenessUnknownError(`${what} on ${silent.map((h) => `${h.definition.name} (${h.problem ?? 'no answer yet'})`).join(', ')}`);
  }

  /**
   * Whether Floe cannot tell now if this desktop runs: it runs (or its disk is) on a host that
   * does not answer, or no answering host has its disk while a host has never answered.
   * Recovery leaves such desktops as they are; pages show them as unreachable.
   */
  livenessUnknown(id: string): boolean {
    const vm = this.vms.get(id);
    if (vm) return vm.host.state !== 'up';
    const withDisk = this.hostWithDisk(`desktop-${id}.qcow2`);
    if (withDisk) return withDisk.state !== 'up';
    return [...this.hosts.values()].some((host) => host.lastSeenAt === undefined);
  }

  private requireUp(host: LibvirtHost, what: string): void {
    if (host.state !== 'up') throw new LivenessUnknownError(`${what} on host ${host.definition.name}, which does not answer`, host.problem ? new Error(host.problem) : undefined);
  }

  private async running(id: string): Promise<LibvirtVm> {
    this.checkId(id);
    let vm = this.vms.get(id);
    if (!vm) {
      await this.ensureAsked();
      vm = this.vms.get(id);
    }
    if (!vm) throw new Error(`desktop ${id} is not running`);
    this.requireUp(vm.host, `desktop ${id}`);
    return vm;
  }

  private hostWithDisk(volume: string): LibvirtHost | undefined {
    return [...this.hosts.values()].find((host) => host.volumes.has(volume));
  }

  private place(template: TemplateSpec): LibvirtHost {
    const volumes = Object.values(templateVolumes(template)).filter((v): v is string => Boolean(v));
    const name = chooseHost(
      [...this.hosts.values()].map((host) => ({
        name: host.definition.name,
        up: host.state === 'up',
        hasTemplate: volumes.every((volume) => host.volumes.has(volume)),
        freeMemoryBytes: host.memory?.freeBytes ?? 0,
        desktops: [...this.vms.values()].filter((vm) => vm.host === host).length,
        maxDesktops: host.definition.maxDesktops,
      })),
    );
    const host = this.hosts.get(name);
    if (!host) throw new NoHostError([]);
    return host;
  }

  private async createOverlay(host: LibvirtHost, volume: string, baseVolume: string): Promise<void> {
    const pool = host.definition.pool;
    const info = await host.virsh.run(['vol-info', '--pool', pool, baseVolume, '--bytes']);
    const capacity = Number(/Capacity:\s*(\d+)/.exec(info)?.[1]);
    if (!Number.isFinite(capacity) || capacity <= 0) throw new Error(`cannot read the size of ${baseVolume} on ${host.definition.name}`);
    const file = path.join(this.tempDir, `${volume}.vol.xml`);
    await fs.promises.writeFile(file, overlayVolumeXml(volume, path.join(host.poolPath ?? '', baseVolume), capacity));
    try {
      await host.virsh.run(['vol-create', pool, file], { timeoutMs: 30_000 });
    } finally {
      await fs.promises.rm(file, { force: true });
    }
    host.volumes.add(volume);
  }

  private async stopUnlocked(id: string): Promise<void> {
    await this.ensureAsked().catch(() => undefined);
    const vm = this.vms.get(id);
    if (!vm) {
      const silent = [...this.hosts.values()].filter((host) => host.state !== 'up');
      if (silent.length) {
        // It may run on a host that does not answer: say so rather than "stopped".
        const answered = await Promise.all(silent.map((host) => this.poll(host, true).then(() => host.state === 'up')));
        if (answered.includes(false)) throw new LivenessUnknownError(`desktop ${id} (hosts not answering)`);
        if (this.vms.has(id)) return this.stopUnlocked(id);
      }
      return;
    }
    this.requireUp(vm.host, `desktop ${id}`);
    vm.stopping = true;
    try {
      await vm.host.virsh.run(['destroy', vm.domain, '--graceful'], { timeoutMs: 15_000 }).catch(async (error: unknown) => {
        if (isNoSuchDomain(error)) return '';
        if (error instanceof HostUnreachableError) throw error;
        return vm.host.virsh.run(['destroy', vm.domain]);
      });
    } catch (error) {
      if (!isNoSuchDomain(error)) {
        vm.stopping = false;
        throw error;
      }
    }
    vm.host.running.delete(vm.domain);
    this.reportExit(vm, 'stopped by Floe');
    libvirtLog.info({ id, host: vm.host.definition.name }, 'stopped desktop domain (disk kept)');
  }

  private withLock<T>(id: string, task: () => Promise<T>): Promise<T> {
    return this.queue.run(id, task);
  }
}

function serialVolume(id: string): string {
  return `desktop-${id}.serial.log`;
}

/** The pool volume names of a template's files: `<parent folder>-<file name>`. */
export function templateVolumes(template: TemplateSpec): { baseImage: string; kernel?: string; initrd?: string } {
  const name = (file: string) => `${path.basename(path.dirname(file))}-${path.basename(file)}`;
  return {
    baseImage: name(template.baseImage),
    ...(template.kernel ? { kernel: name(template.kernel) } : {}),
    ...(template.initrd ? { initrd: name(template.initrd) } : {}),
  };
}
