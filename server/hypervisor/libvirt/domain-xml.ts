/**
 * The libvirt XML Floe writes and reads: a desktop's domain (the same devices as the QEMU
 * driver's command line in ../qemu/qemu-command.ts: q35, virtio disk on a qcow2 overlay, QXL,
 * SPICE with ticketing, the SPICE agent and qemu-guest-agent channels, a USB tablet, the serial
 * port written to a file), the graphics element that rotates the SPICE password, the overlay
 * volume, and Floe's metadata element, by which a restarted Floe finds its domains again.
 *
 * SPICE starts with a random password that expired in 1970, so every login is refused until
 * `setConsolePassword` (libvirt turns ticketing off when a domain has no password at all).
 * No JPEG or WAN compression, no streaming: spice-html5 cannot draw JPEG.
 */
import type { Accelerator, TemplateSpec } from '../types';

/** Namespace of Floe's element in a domain's <metadata>. */
export const FLOE_METADATA_URI = 'http://floe.local/xmlns/libvirt-desktop/1';
export const FLOE_METADATA_KEY = 'floe';

/** What a domain's metadata says about its desktop. */
export interface DesktopMetadata {
  /** Which Floe installation made it (several may share a host). */
  owner: string;
  id: string;
  startedAt: number;
  /** waitReady looks for the serial marker from this byte on (moved by reset). */
  serialOffset: number;
}

export function escapeXml(value: string): string {
  return value.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c] ?? c);
}

function unescapeXml(value: string): string {
  return value.replace(/&(lt|gt|amp|apos|quot);/g, (_, name: string) => ({ lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' })[name] ?? '');
}

/** The <floe:desktop> element (without namespace declaration: `virsh metadata --set` adds it). */
export function metadataElement(meta: DesktopMetadata, withNamespace = false): string {
  const ns = withNamespace ? ` xmlns:${FLOE_METADATA_KEY}='${FLOE_METADATA_URI}'` : '';
  return `<${FLOE_METADATA_KEY}:desktop${ns} owner='${escapeXml(meta.owner)}' id='${escapeXml(meta.id)}' started-at='${meta.startedAt}' serial-offset='${meta.serialOffset}'/>`;
}

/** Reads Floe's element out of a domain XML or a `virsh metadata` answer; undefined when absent. */
export function parseMetadata(xml: string): DesktopMetadata | undefined {
  const element = /<\w+:desktop\b([^>]*?)\/?>/.exec(xml);
  if (!element) return undefined;
  const attrs = attributes(element[1] ?? '');
  const startedAt = Number(attrs['started-at']);
  const serialOffset = Number(attrs['serial-offset'] ?? 0);
  if (!attrs.owner || !attrs.id || !Number.isFinite(startedAt) || !Number.isFinite(serialOffset)) return undefined;
  return { owner: attrs.owner, id: attrs.id, startedAt, serialOffset };
}

function attributes(text: string): Record<string, string> {
  const found: Record<string, string> = {};
  for (const match of text.matchAll(/([\w:-]+)=(?:'([^']*)'|"([^"]*)")/g)) {
    found[match[1] ?? ''] = unescapeXml(match[2] ?? match[3] ?? '');
  }
  return found;
}

/** The SPICE port and listen address libvirt gave a running domain (from its live XML). */
export function parseSpiceGraphics(xml: string): { port: number; listen: string } | undefined {
  const element = /<graphics\b[^>]*type=['"]spice['"][^>]*>/.exec(xml);
  if (!element) return undefined;
  const attrs = attributes(element[0]);
  const port = Number(attrs.port);
  if (!Number.isInteger(port) || port <= 0) return undefined;
  return { port, listen: attrs.listen ?? '127.0.0.1' };
}

/** UTC time `seconds` from `now`, as libvirt's passwdValidTo wants it (YYYY-MM-DDTHH:MM:SS). */
export function passwordValidTo(seconds: number, now = Date.now()): string {
  return new Date(now + seconds * 1000).toISOString().slice(0, 19);
}

/** SPICE options shared by the domain and the update-device XML. */
function graphicsElement(options: { port?: number; listen: string; password: string; validTo: string }): string {
  // libvirt refuses a live update that changes port or autoport: both are repeated as they are.
  const port = `${options.port ? `port='${options.port}' ` : ''}autoport='yes'`;
  return [
    `<graphics type='spice' ${port} listen='${escapeXml(options.listen)}' passwd='${escapeXml(options.password)}' passwdValidTo='${options.validTo}' connected='keep'>`,
    `  <listen type='address' address='${escapeXml(options.listen)}'/>`,
    `  <image compression='auto_lz'/>`,
    `  <jpeg compression='never'/>`,
    `  <zlib compression='never'/>`,
    `  <streaming mode='off'/>`,
    `</graphics>`,
  ].join('\n');
}

/** The graphics XML for `virsh update-device --live`: it repeats the port and listen address. */
export function passwordUpdateXml(port: number, listen: string, password: string, validTo: string): string {
  return graphicsElement({ port, listen, password, validTo });
}

export interface DomainLaunch {
  name: string;
  metadata: DesktopMetadata;
  template: TemplateSpec;
  accelerator: Accelerator;
  /** Paths on the host. */
  disk: string;
  serialLog: string;
  kernel?: string;
  initrd?: string;
  spiceListen: string;
  /** A random password that is already expired (ticketing on, nobody gets in). */
  lockedPassword: string;
}

export function buildDomainXml(launch: DomainLaunch): string {
  const { name, metadata, template, accelerator, disk, serialLog, kernel, initrd, spiceListen, lockedPassword } = launch;
  const boot = kernel
    ? [
        `<kernel>${escapeXml(kernel)}</kernel>`,
        ...(initrd ? [`<initrd>${escapeXml(initrd)}</initrd>`] : []),
        ...(template.kernelArgs ? [`<cmdline>${escapeXml(template.kernelArgs)}</cmdline>`] : []),
      ]
    : [`<boot dev='hd'/>`];
  return `<domain type='${accelerator === 'kvm' ? 'kvm' : 'qemu'}'>
  <name>${escapeXml(name)}</name>
  <metadata>
    ${metadataElement(metadata, true)}
  </metadata>
  <memory unit='MiB'>${template.memoryMiB}</memory>
  <vcpu>${template.vcpus}</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    ${boot.join('\n    ')}
  </os>
  <features><acpi/></features>
  ${accelerator === 'kvm' ? "<cpu mode='host-passthrough'/>" : ''}
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='${escapeXml(disk)}'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <controller type='usb' model='qemu-xhci'/>
    <controller type='virtio-serial' index='0'/>
    <input type='tablet' bus='usb'/>
    <channel type='spicevmc'>
      <target type='virtio' name='com.redhat.spice.0'/>
    </channel>
    <channel type='unix'>
      <target type='virtio' name='org.qemu.guest_agent.0'/>
    </channel>
    <serial type='file'>
      <source path='${escapeXml(serialLog)}' append='off'/>
      <target port='0'/>
    </serial>
    ${graphicsElement({ listen: spiceListen, password: lockedPassword, validTo: '1970-01-01T00:00:01' })}
    <video><model type='qxl'/></video>
    <memballoon model='none'/>
  </devices>
</domain>
`;
}

/** A qcow2 overlay volume on top of `backingPath` (capacity: the backing image's). */
export function overlayVolumeXml(name: string, backingPath: string, capacityBytes: number): string {
  return `<volume>
  <name>${escapeXml(name)}</name>
  <capacity unit='bytes'>${capacityBytes}</capacity>
  <target><format type='qcow2'/></target>
  <backingStore>
    <path>${escapeXml(backingPath)}</path>
    <format type='qcow2'/>
  </backingStore>
</volume>
`;
}
