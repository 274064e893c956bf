/**
 * An address outside this host for network tests (root only): a network namespace behind a
 * veth pair, with an HTTP server in the namespace that answers a random word. The host side of
 * the pair is an address of this host (`hostSide`); the namespace's (`address`) is not, so
 * traffic to it leaves the host as it would to another machine. `close()` stops the server and
 * deletes the namespace, which takes the veth pair with it. Used by the guest firewall test and
 * the graphical desktop's network test.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export interface OutsideNetwork {
  /** The server's address, outside this host. */
  address: string;
  port: number;
  /** This host's own address on the veth pair. */
  hostSide: string;
  /** What the server answers to any request. */
  answer: string;
  close: () => void;
}

/** `name` (a few letters) keeps two users of this apart; 10.<subnet>.x.0/30 is used. */
export function makeOutsideNetwork(name: string, subnet: number): Promise<OutsideNetwork> {
  const suffix = `${process.pid % 10000}`;
  const ns = `floe-${name}-${suffix}`;
  const octet = 100 + (process.pid % 150);
  const hostSide = `10.${subnet}.${octet}.1`;
  const address = `10.${subnet}.${octet}.2`;
  const port = 18080;
  const answer = `outside-${randomBytes(4).toString('hex')}`;
  const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });
  const close = (server?: ChildProcess) => {
    server?.kill();
    try {
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    } catch {
      // not there
    }
  };
  close(); // a namespace left by a run that was killed
  ip('netns', 'add', ns);
  ip('link', 'add', `${name}${suffix}a`, 'type', 'veth', 'peer', 'name', `${name}${suffix}b`);
  ip('link', 'set', `${name}${suffix}b`, 'netns', ns);
  ip('addr', 'add', `${hostSide}/30`, 'dev', `${name}${suffix}a`);
  ip('link', 'set', `${name}${suffix}a`, 'up');
  ip('netns', 'exec', ns, 'ip', 'addr', 'add', `${address}/30`, 'dev', `${name}${suffix}b`);
  ip('netns', 'exec', ns, 'ip', 'link', 'set', `${name}${suffix}b`, 'up');
  const server = spawn(
    'ip',
    ['netns', 'exec', ns, process.execPath, '-e', `require('http').createServer((q,s)=>s.end('${answer}')).listen(${port},'${address}',()=>console.log('up'))`],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return new Promise((resolve, reject) => {
    server.stdout!.once('data', () => resolve({ address, port, hostSide, answer, close: () => close(server) }));
    server.once('exit', (code) => {
      close();
      reject(new Error(`the outside server exited (${code})`));
    });
  });
}
