/**
 * What keeps a guest escape small: QEMU runs as an unprivileged system user (`-runas`, the user
 * `floe-qemu` made by scripts/setup.sh; FLOE_QEMU_USER names another), under QEMU's seccomp
 * sandbox, with a bare environment (PATH and LANG only: none of Floe's secrets such as
 * NEXTAUTH_SECRET, DATABASE_URL, the OIDC secret or FLOE_DEMO_PASSWORD).
 *
 * `-runas` drops privileges after QEMU has opened everything on its command line (disk and its
 * backing chain, serial log, its sockets, the pid file, a clone's state descriptor), as root.
 * So Floe's data stays root's (files 0600, folders 0700) and a QEMU can read no other desktop's
 * disk. What QEMU opens after the drop (the socket a template's state is saved through, screen
 * dumps) is made by Floe for the QEMU user under a random name in a folder it cannot list
 * (see `privateQemuPath`).
 *
 * Sandbox: `-sandbox on,obsolete=deny,elevateprivileges=allow,spawn=deny,resourcecontrol=deny`.
 * `elevateprivileges` must be `allow`: `deny` and `children` both forbid setuid/setgid, and the
 * seccomp filter is in place before `-runas` drops root (seen with QEMU 7.2: "Bad system call",
 * setgid from the SPICE worker thread). After the drop QEMU holds no capability (CapEff 0), so
 * allowing set*id gives nothing back, and `spawn=deny` (no fork, no exec) keeps it from running
 * a setuid program; QEMU's own NoNewPrivs is set too. QEMU 7.2 spells it `spawn=`.
 *
 * When Floe itself is not root it cannot switch users: QEMU runs as Floe's user (sandboxed, bare
 * environment) and the log says so. When Floe is root and the user is missing, QEMU does not
 * start: running it as root is what this file exists to prevent.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** QEMU's seccomp sandbox options (see above for why elevateprivileges is allow). */
export const QEMU_SANDBOX = 'on,obsolete=deny,elevateprivileges=allow,spawn=deny,resourcecontrol=deny';
export const DEFAULT_QEMU_USER = 'floe-qemu';

export interface QemuUser {
  name: string;
  uid: number;
  gid: number;
}

export interface QemuConfinement {
  /** The user QEMU switches to; undefined when Floe is not root (QEMU keeps Floe's user). */
  user: QemuUser | undefined;
  /** Why QEMU runs as whom, for the log. */
  note: string;
}

/** Looks a user up through NSS (getent); undefined when there is none. */
export function lookUpUser(name: string): QemuUser | undefined {
  try {
    const line = execFileSync('getent', ['passwd', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const [, , uid, gid] = line.split(':');
    if (uid === undefined || gid === undefined) return undefined;
    return { name, uid: Number(uid), gid: Number(gid) };
  } catch {
    return undefined;
  }
}

/**
 * Who QEMU runs as. `userName` defaults to FLOE_QEMU_USER, else `floe-qemu`; `floeUid` to
 * Floe's uid. Throws when Floe is root and the user does not exist or is root itself.
 */
export function resolveConfinement(
  userName = process.env.FLOE_QEMU_USER || DEFAULT_QEMU_USER,
  floeUid = process.getuid?.() ?? 0,
): QemuConfinement {
  if (floeUid !== 0) {
    return { user: undefined, note: `Floe is not root (uid ${floeUid}): QEMU runs as Floe's own user, without -runas` };
  }
  const user = lookUpUser(userName);
  if (!user) {
    throw new Error(`QEMU would run as root: the system user ${userName} does not exist (create it with: bash scripts/setup.sh)`);
  }
  if (user.uid === 0) throw new Error(`FLOE_QEMU_USER ${userName} is root: QEMU must run as an unprivileged user`);
  return { user, note: `QEMU runs as ${user.name} (uid ${user.uid}) with -runas` };
}

/** The arguments that confine a QEMU: the sandbox, and -runas when there is a user to switch to. */
export function confinementArgs(confinement: QemuConfinement): string[] {
  return ['-sandbox', QEMU_SANDBOX, ...(confinement.user ? ['-runas', confinement.user.name] : [])];
}

/** QEMU's whole environment: a PATH to find its helpers and a locale; nothing of Floe's. */
export function qemuEnvironment(env: Readonly<Record<string, string | undefined>> = process.env): NodeJS.ProcessEnv {
  const bare = { PATH: env.PATH || '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' };
  return bare as unknown as NodeJS.ProcessEnv; // Next's types make NODE_ENV required; QEMU gets none

}

/**
 * Makes the runtime folder (`RUNTIME/`, holding one folder per VM) reachable by the QEMU user
 * without letting it list anything: the folder and the Floe-made root above it (e.g.
 * /run/floe) get 0711. Returns the folders above that the user cannot pass, for a warning.
 */
export function openRuntimeFolderForQemu(runtimeDir: string, user: QemuUser | undefined): string[] {
  if (!user) return [];
  for (const folder of [runtimeDir, path.dirname(runtimeDir)]) {
    const stat = fs.statSync(folder);
    if (stat.uid === process.getuid?.()) fs.chmodSync(folder, (stat.mode & 0o777) | 0o711);
  }
  const blocked: string[] = [];
  for (let folder = path.dirname(path.dirname(runtimeDir)); ; folder = path.dirname(folder)) {
    const stat = fs.statSync(folder);
    const passable = (stat.mode & 0o001) !== 0 || (stat.uid === user.uid && (stat.mode & 0o100) !== 0) || (stat.gid === user.gid && (stat.mode & 0o010) !== 0);
    if (!passable) blocked.push(folder);
    if (folder === path.dirname(folder)) break;
  }
  return blocked;
}

/**
 * A path for something QEMU opens after the drop (the socket a template's state is saved
 * through, a screen dump): a random name right in the runtime folder, which the QEMU user can
 * pass but not list, so no other QEMU (same uid) finds it. `handToQemu` gives the file made
 * there to the QEMU user, 0600.
 */
export function privateQemuPath(runtimeDir: string, prefix: string, suffix: string): string {
  return path.join(runtimeDir, `${prefix}-${randomBytes(12).toString('hex')}${suffix}`);
}

/** Gives a file to the QEMU user (0600): it is QEMU's to open, nobody else's. */
export async function handToQemu(file: string, user: QemuUser | undefined): Promise<void> {
  await fs.promises.chmod(file, 0o600);
  if (user) await fs.promises.chown(file, user.uid, user.gid);
}
