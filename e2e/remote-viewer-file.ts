/**
 * What a test needs of a `.vv` file (virt-viewer's connection file) to go the way remote-viewer
 * goes: its fields, and a TLS session inside a CONNECT tunnel checked as remote-viewer checks it
 * (the file's `ca`, and `host-subject` against the certificate's subject).
 */
import type net from 'node:net';
import tls from 'node:tls';
import { expect } from '@playwright/test';

/** Reads a virt-viewer file's [virt-viewer] section into key → value. */
export function parseVirtViewerFile(text: string): Record<string, string | undefined> {
  const lines = text.trim().split('\n');
  expect(lines[0]).toBe('[virt-viewer]');
  return Object.fromEntries(lines.slice(1).map((line) => {
    const at = line.indexOf('=');
    expect(at, `a key=value line: ${line}`).toBeGreaterThan(0);
    return [line.slice(0, at), line.slice(at + 1)];
  }));
}

/** The file's CA as PEM (`ca=` holds it on one line with `\n`). */
export function caOf(vv: Record<string, string | undefined>): string {
  return (vv.ca ?? '').replace(/\\n/g, '\n');
}

/** Starts TLS on an open tunnel; rejects unless the certificate chains to the file's CA and has its subject. */
export async function secureTunnel(socket: net.Socket, vv: Record<string, string | undefined>): Promise<tls.TLSSocket> {
  const secure = tls.connect({
    socket,
    ca: caOf(vv),
    checkServerIdentity: (_host, cert) => (`CN=${cert.subject.CN}` === vv['host-subject'] ? undefined : new Error(`subject CN=${cert.subject.CN} is not ${vv['host-subject']}`)),
  });
  await new Promise<void>((resolve, reject) => {
    secure.once('secureConnect', () => resolve());
    secure.once('error', reject);
  });
  return secure;
}
