/**
 * The door that QEMU's user-mode network ("nat" pools) leaves open, closed. A guest on
 * `-netdev user` reaches the outside through sockets that QEMU itself opens on the host, as the
 * QEMU user (floe-qemu): so it could reach whatever the host serves, starting with its loopback
 * (the guest's 10.0.2.2 is the host's 127.0.0.1): Floe's port, the SPICE ports of every other
 * desktop, the database. No `-netdev` option closes that (`restrict=on` cuts the outside too).
 *
 * This file keeps an nftables table, `inet floe_guests`, whose output chain rejects every new
 * connection (TCP, UDP, anything) that a process of the QEMU user opens to an address of this
 * host (`fib daddr type local`: loopback and every address of every interface) or to loopback.
 * Replies on connections the QEMU user accepted (a SPICE client's) are not new, so they pass.
 * One exception: DNS (port 53) to loopback, where hosts run their resolver (systemd-resolved);
 * QEMU's user network forwards the guest's DNS to the host's resolver.
 *
 * Floe loads the table (idempotently, replacing its own older copy) before it starts the first
 * nat desktop, and refuses to start one when it cannot: no nat guest runs with the door open.
 * Needs root and the `nft` command (Debian's nftables; scripts/setup.sh installs it).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export const GUEST_FIREWALL_TABLE = 'floe_guests';

/** The nftables script that (re)makes the table for the QEMU user's uid. */
export function guestFirewallRules(qemuUid: number): string {
  if (!Number.isInteger(qemuUid) || qemuUid <= 0) throw new Error(`not a QEMU user id: ${qemuUid}`);
  return [
    // "add" then "delete" makes the delete safe when the table is not there yet.
    `add table inet ${GUEST_FIREWALL_TABLE}`,
    `delete table inet ${GUEST_FIREWALL_TABLE}`,
    `table inet ${GUEST_FIREWALL_TABLE} {`,
    '  chain output {',
    '    type filter hook output priority filter; policy accept;',
    `    meta skuid ${qemuUid} ct state new ip daddr 127.0.0.0/8 meta l4proto { tcp, udp } th dport 53 accept`,
    `    meta skuid ${qemuUid} ct state new ip6 daddr ::1 meta l4proto { tcp, udp } th dport 53 accept`,
    `    meta skuid ${qemuUid} ct state new fib daddr type local counter reject`,
    `    meta skuid ${qemuUid} ct state new ip daddr 127.0.0.0/8 counter reject`,
    `    meta skuid ${qemuUid} ct state new ip6 daddr ::1 counter reject`,
    '  }',
    '}',
    '',
  ].join('\n');
}

let loaded: { uid: number; done: Promise<void> } | undefined;

/**
 * Loads the table for `qemuUid` once per process (again if the uid changes). Throws, saying
 * why, when it cannot: then no nat desktop may start.
 */
export function ensureGuestFirewall(qemuUid: number | undefined): Promise<void> {
  if (qemuUid === undefined) {
    return Promise.reject(
      new Error('a "nat" network needs QEMU to run as its own user (Floe running as root, see qemu-confinement.ts): its connections to this host are refused by that user'),
    );
  }
  if (loaded?.uid === qemuUid) return loaded.done;
  const done = loadRules(guestFirewallRules(qemuUid));
  loaded = { uid: qemuUid, done };
  done.catch(() => {
    if (loaded?.done === done) loaded = undefined; // try again at the next nat desktop
  });
  return done;
}

async function loadRules(rules: string): Promise<void> {
  const child = execFileAsync('nft', ['-f', '-']);
  child.child.stdin?.end(rules);
  try {
    await child;
  } catch (error) {
    const detail = (error as { stderr?: string; message: string }).stderr?.trim() || (error as Error).message;
    throw new Error(`cannot load the nftables rules that keep "nat" guests off this host (nft -f): ${detail}`);
  }
}

/** True when the table is in the kernel now (tests). */
export async function guestFirewallLoaded(): Promise<boolean> {
  try {
    await execFileAsync('nft', ['list', 'table', 'inet', GUEST_FIREWALL_TABLE]);
    return true;
  } catch {
    return false;
  }
}
