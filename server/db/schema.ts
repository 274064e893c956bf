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
  /** The pool's template version the desktop's disk was made from (instant clones, roll-outs). */
  template_version: number | null;
  /** The portal replica (FLOE_REPLICA_ID) that boots or drives its VM; another replica's recovery leaves it alone while that one lives. */
  driven_by: string | null;
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
  sign_in_session_id: string | null;
  /** The desktop's owner when a helpdesk person opens someone else's desktop (else null). */
  desktop_owner_id: string | null;
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
  /** Display name and role of whoever took the desktop over, when that ended this session. */
  taken_over_by: string | null;
  /** The sign-in this console belongs to: when it ends, the console is closed. */
  sign_in_session_id: string | null;
  /** The portal replica (FLOE_REPLICA_ID) whose relay or proxy carries this console. */
  relayed_by: string | null;
}

/** One portal replica sharing the database, with its heartbeat (server/replicas.ts). */
export interface ReplicasTable {
  id: string;
  started_at: number;
  /** Last heartbeat, every 2 s while the replica runs. */
  seen_at: number;
  /** 1 while this replica holds the reconcile lease. */
  holds_lease: number;
}

export interface AuditLogTable {
  id: Generated<number>;
  at: number;
  actor: string | null;
  action: string;
  target: string | null;
  detail: string | null;
}

/** One sign-in: the session cookie names it; sign-out, the lifetime or the idle timeout end it. */
export interface SignInSessionsTable {
  /** sha256 of the session id carried in the (encrypted) session cookie. */
  id: string;
  user_id: string;
  /** 'password' or 'oidc'. */
  method: string;
  client_address: string | null;
  user_agent: string | null;
  started_at: number;
  last_seen_at: number;
  expires_at: number;
  ended_at: number | null;
  end_reason: string | null;
}

/** Failed sign-ins counted per key ('account:NAME' or 'address:IP') within a window. */
export interface SignInThrottleTable {
  key: string;
  failures: number;
  window_started_at: number;
  /** Next attempt allowed from (the slow-down), or null. */
  not_before: number | null;
  locked_until: number | null;
  updated_at: number;
}

/** A person as an OIDC identity provider knows them (issuer + subject), linked to a Floe user. */
export interface UserIdentitiesTable {
  issuer: string;
  subject: string;
  user_id: string;
  created_at: number;
  last_sign_in_at: number;
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
  sign_in_sessions: SignInSessionsTable;
  sign_in_throttle: SignInThrottleTable;
  user_identities: UserIdentitiesTable;
  replicas: ReplicasTable;
}

export type User = Selectable<UsersTable>;
export type NewUser = Insertable<UsersTable>;
export type Desktop = Selectable<DesktopsTable>;
export type NewDesktop = Insertable<DesktopsTable>;
export type DesktopUpdate = Updateable<DesktopsTable>;
export type ConsoleTicketRow = Selectable<ConsoleTicketsTable>;
export type ConsoleSession = Selectable<ConsoleSessionsTable>;
export type SignInSession = Selectable<SignInSessionsTable>;
export type Replica = Selectable<ReplicasTable>;
