/**
 * Tests of the firewall that keeps "nat" guests off the Floe host (guest-firewall.ts) and of
 * the QEMU arguments of a nat guest. The real check needs root and nftables: it loads the
 * table, then lets a process of the QEMU user (floe-qemu, as QEMU runs) try what a guest's
 * user-mode network would do on its behalf: connect to a listener on loopback (Floe's port, a
 * SPICE port), to an address of this host, and to an address outside it (a network namespace
 * behind a veth pair, made by the test and removed after). Only the outside one answers; root
 * (Floe) still reaches all three.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { buildQemuArgs, desktopPaths } from '../hypervisor/qemu/qemu-command';
import { lookUpUser, DEFAULT_QEMU_USER } from '../hypervisor/qemu/qemu-confinement';
import { type OutsideNetwork, makeOutsideNetwork } from '../../test/outside-network';
import { ensureGuestFirewall, guestFirewallLoaded, guestFirewallRules } from './guest-firewall';

describe('guest firewall rules and nat arguments', () => {
  it('reject new connections of the QEMU user to this host and to loopback, DNS to loopback aside', () => {
    const rules = guestFirewallRules(999);
    assert.match(rules, /meta skuid 999 ct state new fib daddr type local counter reject/);
    assert.match(rules, /meta skuid 999 ct state new ip daddr 127\.0\.0\.0\/8 counter reject/);
    assert.match(rules, /meta skuid 999 ct state new ip6 daddr ::1 counter reject/);
    assert.match(rules, /ip daddr 127\.0\.0\.0\/8 meta l4proto \{ tcp, udp \} th dport 53 accept/);
    assert.throws(() => guestFirewallRules(0), /not a QEMU user id/);
  });

  it('no QEMU user (Floe not root): a nat guest is refused', async () => {
    await assert.rejects(ensureGuestFirewall(undefined), /needs QEMU to run as its own user/);
  });

  it('a nat template gets a virtio NIC on the user network; none gets no NIC', () => {
    const base = { baseImage: '/b.qcow2', memoryMiB: 256, vcpus: 1, readiness: { kind: 'delay' as const, seconds: 1 } };
    const launch = { id: 'x', paths: desktopPaths('/d', 'x', '/r'), accelerator: 'tcg' as const, spiceHost: '127.0.0.1', spicePort: 5900 };
    const nat = buildQemuArgs({ ...launch, template: { ...base, network: 'nat' } });
    assert.equal(nat[nat.indexOf('-netdev') + 1], 'user,id=net0,ipv6=off,net=10.0.2.0/24');
    assert.ok(nat.some((a) => a.startsWith('virtio-net-pci,netdev=net0')));
    assert.ok(!nat.some((a) => /hostfwd|guestfwd/.test(a)), 'nothing forwarded into the host');
    const none = buildQemuArgs({ ...launch, template: { ...base, network: 'none' } });
    assert.ok(!none.includes('-netdev'));
    assert.deepEqual(buildQemuArgs({ ...launch, template: base }), none);
  });
});

const execFileAsync = promisify(execFile);
const qemuUser = lookUpUser(process.env.FLOE_QEMU_USER || DEFAULT_QEMU_USER);
const hasNft = (() => {
  try {
    execFileSync('nft', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const skip = process.getuid?.() !== 0 ? 'needs root' : !qemuUser ? 'needs the QEMU user (scripts/setup.sh)' : !hasNft ? 'needs nft (nftables)' : false;

describe('the QEMU user cannot reach this host, but reaches outside (real nftables)', { skip }, () => {
  const servers: http.Server[] = [];
  let outside: OutsideNetwork | undefined;
  let loopbackPort = 0;
  let hostAddressPort = 0;

  const listen = async (host: string) => {
    const server = http.createServer((_req, res) => res.end('host'));
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, host, resolve));
    return (server.address() as AddressInfo).port;
  };

  /** curl's HTTP status (000: could not connect) for `url`, as the QEMU user or as root (async: the listeners live in this process). */
  const fetchAs = async (url: string, asQemu: boolean): Promise<string> => {
    const curl = ['curl', '-s', '-m', '3', '-o', '/dev/null', '-w', '%{http_code}', url];
    const command = asQemu ? ['setpriv', `--reuid=${qemuUser!.uid}`, `--regid=${qemuUser!.gid}`, '--clear-groups', ...curl] : curl;
    try {
      return (await execFileAsync(command[0]!, command.slice(1), { encoding: 'utf8' })).stdout;
    } catch (error) {
      return String((error as { stdout?: string }).stdout ?? '') || '000';
    }
  };

  before(async () => {
    await ensureGuestFirewall(qemuUser!.uid);
    outside = await makeOutsideNetwork('fw', 213);
    loopbackPort = await listen('127.0.0.1');
    hostAddressPort = await listen(outside.hostSide);
  });

  after(() => {
    for (const server of servers) server.close();
    outside?.close();
  });

  it('is loaded', async () => {
    assert.equal(await guestFirewallLoaded(), true);
  });

  it('loopback and an address of this host are refused to the QEMU user, not to root', async () => {
    assert.equal(await fetchAs(`http://127.0.0.1:${loopbackPort}/`, true), '000');
    assert.equal(await fetchAs(`http://${outside!.hostSide}:${hostAddressPort}/`, true), '000');
    assert.equal(await fetchAs(`http://127.0.0.1:${loopbackPort}/`, false), '200');
    assert.equal(await fetchAs(`http://${outside!.hostSide}:${hostAddressPort}/`, false), '200');
  });

  it('an address outside this host answers the QEMU user', async () => {
    assert.equal(await fetchAs(`http://${outside!.address}:${outside!.port}/`, true), '200');
  });
});
