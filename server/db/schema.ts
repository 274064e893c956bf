/**
 * The database's tables as Kysely types. Times are epoch milliseconds (numbers) on both
 * SQLite and PostgreSQL; booleans are 0/1 integers so one schema serves both engines.
 */
import type { Generated, Insertable, Selectable, Updateable } from 'kysely';

export type Role = 'user' | 'helpdesk' | 'admin';

export type DesktopState =
  | 'provisioning'
  | 'booting'
  | 'ready'
  | 'assigned'
  | 'stopping'
  | 'stopped'
  | 'gone'
  | 'failed';

export interface UsersTable {
  id: string;
  name: string;
  display_name: string;
  password_hash: string | null;
  role: Role;
  disabled: number;
  created_at: number;
}

export interface PoolsTable {
  name: string;
  /** The pool definition as JSON (validated by the broker's pool schema). */
  definition: string;
  updated_at: number;
}

export interface DesktopsTable {
  id: string;
  pool_name: string;
  state: DesktopState;
  user_id: string | null;
  failure_reason: string | null;
  pid: number | null;
  spice_host: string | null;
  spice_port: number | null;
  accelerator: string | null;
  created_at: number;
  state_changed_at: number;
  booted_at: number | null;
  assigned_at: number | null;
}

export interface ConsoleTicketsTable {
  /** sha256 of the ticket (the ticket itself is never stored). */
  id: string;
  user_id: string;
  desktop_id: string;
  origin: string;
  expires_at: number;
  session_started_at: number | null;
  created_at: number;
}

/** One browser (or native client) attached to a desktop: all channels opened under one ticket. */
export interface ConsoleSessionsTable {
  /** The ticket's hash: the relay's session key. */
  id: string;
  desktop_id: string;
  user_id: string;
  client_address: string | null;
  user_agent: string | null;
  started_at: number;
  ended_at: number | null;
  bytes_to_desktop: number;
  bytes_to_browser: number;
  end_reason: string | null;
}

export interface AuditLogTable {
  id: Generated<number>;
  at: number;
  actor: string | null;
  action: string;
  target: string | null;
  detail: string | null;
}

export interface SettingsTable {
  key: string;
  value: string;
}

export interface Database {
  users: UsersTable;
  pools: PoolsTable;
  desktops: DesktopsTable;
  console_tickets: ConsoleTicketsTable;
  console_sessions: ConsoleSessionsTable;
  audit_log: AuditLogTable;
  settings: SettingsTable;
}

export type User = Selectable<UsersTable>;
export type NewUser = Insertable<UsersTable>;
export type Desktop = Selectable<DesktopsTable>;
export type NewDesktop = Insertable<DesktopsTable>;
export type DesktopUpdate = Updateable<DesktopsTable>;
export type ConsoleTicketRow = Selectable<ConsoleTicketsTable>;
export type ConsoleSession = Selectable<ConsoleSessionsTable>;
