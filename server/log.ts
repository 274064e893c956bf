/**
 * The one logger (pino). Modules take a child with their name: `log.child({ module: 'broker' })`.
 * Nothing on the console relay's per-chunk path logs.
 */
import pino from 'pino';

export const log = pino({
  level: process.env.FLOE_LOG_LEVEL ?? 'info',
  base: undefined,
  timestamp: pino.stdTimeFunctions.isoTime,
});
