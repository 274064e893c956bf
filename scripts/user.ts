/**
 * `npm run user -- COMMAND`: manage Floe's users (add, passwd, role, disable, enable, unlock,
 * list). The work is in server/accounts/user-cli.ts; this only connects it to the terminal.
 */
import { runUserCli } from '../server/accounts/user-cli';

process.exitCode = await runUserCli(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
});
