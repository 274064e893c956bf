/**
 * libvirt hosts for the admin API and page: each host with its state, memory, KSM figures and
 * desktops (a desktop on a host that does not answer is "unreachable"), and adding or removing
 * a host (validated by the hosts schema, written back to FLOE_HOSTS_FILE, audited). With the
 * embedded QEMU driver there are no libvirt hosts and changes are refused with 409.
 * Callers check that the person is an admin.
 */
import 'server-only';
import { type HostDefinition, parseHost, saveHostsFile } from '@/server/hypervisor/libvirt/hosts';
import type { HostStatus } from '@/server/hypervisor/libvirt/libvirt-hypervisor';
import { getRuntime } from '@/server/runtime-registry';
import type { SessionUser } from './auth';
import { RequestError } from './http';

export interface HostDesktop {
  id: string;
  reachable: boolean;
}

export interface HostView extends HostStatus {
  desktopList: HostDesktop[];
}

export interface HostsView {
  /** Which driver runs desktops. */
  driver: 'qemu' | 'libvirt';
  hosts: HostView[];
}

export async function hostsView(): Promise<HostsView> {
  const { libvirt } = getRuntime();
  if (!libvirt) return { driver: 'qemu', hosts: [] };
  const vms = await libvirt.list().catch(() => []);
  const byHost = new Map<string, HostDesktop[]>();
  for (const vm of vms) {
    const where = libvirt.desktopHost(vm.id);
    if (!where) continue;
    byHost.set(where.host, [...(byHost.get(where.host) ?? []), { id: vm.id, reachable: where.reachable }]);
  }
  return { driver: 'libvirt', hosts: libvirt.hostStatus().map((host) => ({ ...host, desktopList: byHost.get(host.name) ?? [] })) };
}

function driverOrRefuse() {
  const runtime = getRuntime();
  if (!runtime.libvirt || !runtime.config.hostsFile) {
    throw new RequestError(409, 'Floe runs desktops with its embedded QEMU driver here; hosts are used with FLOE_HYPERVISOR=libvirt and FLOE_HOSTS_FILE.');
  }
  return { runtime, libvirt: runtime.libvirt, file: runtime.config.hostsFile };
}

/** Adds a host from a request body (400 naming the bad fields, 409 if the name or URI is taken). */
export async function addHost(admin: SessionUser, body: unknown): Promise<HostDefinition> {
  const { runtime, libvirt, file } = driverOrRefuse();
  let host: HostDefinition;
  try {
    host = parseHost(body);
  } catch (error) {
    throw new RequestError(400, (error as Error).message);
  }
  if (libvirt.hostDefinitions().some((h) => h.name === host.name || h.uri === host.uri)) {
    throw new RequestError(409, `A host named "${host.name}" or with the URI ${host.uri} is already configured.`);
  }
  libvirt.addHost(host);
  saveHostsFile(file, libvirt.hostDefinitions());
  await runtime.audit({ actor: admin.name, action: 'host add', target: host.name, detail: { uri: host.uri } });
  return host;
}

/** Removes a host that runs none of Floe's desktops (409 otherwise). */
export async function removeHost(admin: SessionUser, name: string): Promise<void> {
  const { runtime, libvirt, file } = driverOrRefuse();
  if (!libvirt.hostDefinitions().some((h) => h.name === name)) throw new RequestError(404, `There is no host named "${name}".`);
  try {
    libvirt.removeHost(name);
  } catch (error) {
    throw new RequestError(409, (error as Error).message);
  }
  saveHostsFile(file, libvirt.hostDefinitions());
  await runtime.audit({ actor: admin.name, action: 'host remove', target: name });
}
