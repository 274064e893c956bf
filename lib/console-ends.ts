/**
 * Why a console ended, for pages and the console client: the server's typed end reasons
 * (server/consoles/end-reasons.ts, which imports nothing, so the browser bundle can carry it).
 * Pages put them into words from the message catalogues (ConsoleEnds, Console).
 */
export {
  CONSOLE_END_REASONS,
  type ConsoleEndReason,
  FINAL_CONSOLE_ENDS,
  isConsoleEndReason,
} from '@/server/consoles/end-reasons';
