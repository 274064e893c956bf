/**
 * Readiness by guest agent, against a unix socket standing in for QEMU's qga channel: an agent
 * that answers guest-ping makes the guest ready; a channel nobody answers (no agent in the
 * guest) times out; a dead VM stops the wait. After a clone's restore, the clock is set to the
 * host's time and the clone identity hook is run with the desktop's id; an agent that refuses
 * the hook (the template has none) is reported, not thrown.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { CLONE_HOOK, pingGuestAgent, runCloneHook, setGuestTime, waitForGuestAgent } from './guest-agent';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-qga-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

async function channel(name: string, agent: 'answers' | 'silent'): Promise<{ path: string; server: net.Server; pings: () => number }> {
  const socketPath = path.join(dir, name);
  let pings = 0;
  const server = net.createServer((socket) => {
    socket.on('data', (data) => {
      if (!data.toString().includes('"guest-ping"')) return;
      pings++;
      if (agent === 'answers') socket.write('{"return": {}}\n');
    });
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return { path: socketPath, server, pings: () => pings };
}

test('an agent that answers guest-ping makes the guest ready', async () => {
  const agent = await channel('answers.sock', 'answers');
  assert.equal(await pingGuestAgent(agent.path), true);
  await waitForGuestAgent(agent.path, Date.now() + 5000, () => {});
  assert.equal(agent.pings(), 2);
  agent.server.close();
});

test('a channel without an agent times out; a dead VM stops the wait', async () => {
  const silent = await channel('silent.sock', 'silent');
  assert.equal(await pingGuestAgent(silent.path, 200), false);
  assert.equal(await pingGuestAgent(path.join(dir, 'missing.sock'), 200), false);
  await assert.rejects(waitForGuestAgent(silent.path, Date.now() + 1200, () => {}), /did not answer guest-ping in time/);
  let alive = true;
  setTimeout(() => (alive = false), 300);
  await assert.rejects(
    waitForGuestAgent(silent.path, Date.now() + 10_000, () => {
      if (!alive) throw new Error('desktop exited before it was ready');
    }),
    /exited before it was ready/,
  );
  silent.server.close();
});

test('a clone gets the host time and its identity hook through the agent', async () => {
  const socketPath = path.join(dir, 'clone.sock');
  const received: { execute: string; arguments?: { time?: number; path?: string; arg?: string[] } }[] = [];
  let hookExists = true;
  const server = net.createServer((socket) => {
    socket.on('data', (data) => {
      for (const line of data.toString().split('\n').filter(Boolean)) {
        const command = JSON.parse(line) as (typeof received)[number];
        received.push(command);
        const refuse = command.execute === 'guest-exec' && !hookExists;
        socket.write(refuse ? '{"error": {"class": "GenericError", "desc": "No such file"}}\n' : '{"return": {}}\n');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  const before = Date.now();
  await setGuestTime(socketPath);
  assert.equal(await runCloneHook(socketPath, 'demo-1234'), true);
  hookExists = false;
  assert.equal(await runCloneHook(socketPath, 'demo-1234'), false);
  server.close();
  const time = received[0]?.arguments?.time ?? 0;
  assert.equal(received[0]?.execute, 'guest-set-time');
  assert.ok(time / 1e6 >= before - 1 && time / 1e6 <= Date.now() + 1, 'nanoseconds of the host clock');
  assert.deepEqual(received[1], { execute: 'guest-exec', arguments: { path: CLONE_HOOK, arg: ['demo-1234'] } });
});
