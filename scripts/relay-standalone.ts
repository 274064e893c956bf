/**
 * `npm run relay:standalone -- --listen 127.0.0.1:PORT --target HOST:PORT [--ticket T]`: runs
 * the production console relay (server/console) with a fixed target and a fixed test ticket, so
 * any harness can be pointed at it. Clients open ws://LISTEN/console/ws?ticket=T with the
 * subprotocol `binary` and send a SPICE link message first; the default ticket is
 * `floe-standalone-test-ticket`. Port 0 picks a free port; the first line printed is
 * `listening <url>`. SIGINT or SIGTERM closes every channel and exits.
 */
import { parseArgs } from 'node:util';
import { startStandaloneRelay, STANDALONE_TEST_TICKET } from '../server/console/standalone';

function hostAndPort(value: string | undefined, option: string): { host: string; port: number } {
  const match = value === undefined ? null : /^(.+):(\d+)$/.exec(value);
  if (match === null) {
    console.error(`${option} HOST:PORT is required (e.g. ${option} 127.0.0.1:5959)`);
    process.exit(2);
  }
  return { host: match[1]!.replace(/^\[(.*)\]$/, '$1'), port: Number(match[2]) };
}

const { values } = parseArgs({
  options: {
    listen: { type: 'string' },
    target: { type: 'string' },
    ticket: { type: 'string', default: STANDALONE_TEST_TICKET },
  },
});
const listen = hostAndPort(values.listen, '--listen');
const relay = await startStandaloneRelay({ ...listen, target: hostAndPort(values.target, '--target'), ticket: values.ticket });
console.log(`listening ${relay.url}`);
const stop = () => void relay.close().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
