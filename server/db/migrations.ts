/**
 * Schema migrations, written with Kysely's schema builder so the same steps run on SQLite and
 * PostgreSQL. Append new migrations; never edit one that has shipped.
 */
import type { Kysely, Migration, MigrationProvider } from 'kysely';

export type Engine = 'sqlite' | 'postgres';

const migrations = (engine: Engine): Record<string, Migration> => ({
  '0001-initial': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('users')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('display_name', 'text', (c) => c.notNull())
        .addColumn('password_hash', 'text')
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('pools')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('definition', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('desktops')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('pool_name', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text')
        .addColumn('failure_reason', 'text')
        .addColumn('pid', 'integer')
        .addColumn('spice_host', 'text')
        .addColumn('spice_port', 'integer')
        .addColumn('accelerator', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('state_changed_at', 'bigint', (c) => c.notNull())
        .addColumn('booted_at', 'bigint')
        .addColumn('assigned_at', 'bigint')
        .execute();
      await db.schema.createIndex('desktops_by_user').on('desktops').columns(['user_id', 'pool_name']).execute();
      await db.schema.createIndex('desktops_by_state').on('desktops').columns(['pool_name', 'state']).execute();
      await db.schema
        .createTable('console_tickets')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('desktop_id', 'text', (c) => c.notNull())
        .addColumn('origin', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('session_started_at', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('audit_log')
        .addColumn('id', engine === 'postgres' ? 'serial' : 'integer', (c) =>
          engine === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
        )
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('actor', 'text')
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('target', 'text')
        .addColumn('detail', 'text')
        .execute();
      await db.schema.createIndex('audit_log_by_time').on('audit_log').column('at').execute();
      await db.schema
        .createTable('settings')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .execute();
    },
  },
  '0002-console-sessions': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('console_sessions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('desktop_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('client_address', 'text')
        .addColumn('user_agent', 'text')
        .addColumn('started_at', 'bigint', (c) => c.notNull())
        .addColumn('ended_at', 'bigint')
        .addColumn('bytes_to_desktop', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('bytes_to_browser', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('end_reason', 'text')
        .execute();
      await db.schema.createIndex('console_sessions_by_desktop').on('console_sessions').columns(['desktop_id', 'ended_at']).execute();
    },
  },
  '0003-sign-in-sessions-throttle-identities': {
    async up(db: Kysely<unknown>) {
      // One row per sign-in: ended by sign-out, the lifetime or the idle timeout (server/accounts/sign-in-sessions.ts).
      await db.schema
        .createTable('sign_in_sessions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('method', 'text', (c) => c.notNull())
        .addColumn('client_address', 'text')
        .addColumn('user_agent', 'text')
        .addColumn('started_at', 'bigint', (c) => c.notNull())
        .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('ended_at', 'bigint')
        .addColumn('end_reason', 'text')
        .execute();
      await db.schema.createIndex('sign_in_sessions_by_user').on('sign_in_sessions').columns(['user_id', 'ended_at']).execute();
      // Failed sign-ins per account and per client address (server/accounts/sign-in-throttle.ts).
      await db.schema
        .createTable('sign_in_throttle')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('failures', 'integer', (c) => c.notNull())
        .addColumn('window_started_at', 'bigint', (c) => c.notNull())
        .addColumn('not_before', 'bigint')
        .addColumn('locked_until', 'bigint')
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('sign_in_throttle_by_update').on('sign_in_throttle').column('updated_at').execute();
      // Which Floe user an identity provider's subject is (OIDC sign-in).
      await db.schema
        .createTable('user_identities')
        .addColumn('issuer', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('last_sign_in_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('user_identities_key', ['issuer', 'subject'])
        .execute();
      await db.schema.createIndex('user_identities_by_user').on('user_identities').column('user_id').execute();
    },
  },
  '0004-console-takeover': {
    async up(db: Kysely<unknown>) {
      // Who opened the desktop when a console was taken over, and which sign-in a console belongs to.
      await db.schema.alterTable('console_sessions').addColumn('taken_over_by', 'text').execute();
      await db.schema.alterTable('console_sessions').addColumn('sign_in_session_id', 'text').execute();
      await db.schema.alterTable('console_tickets').addColumn('sign_in_session_id', 'text').execute();
      await db.schema.alterTable('console_tickets').addColumn('desktop_owner_id', 'text').execute();
    },
  },
  '0005-desktop-template-version': {
    async up(db: Kysely<unknown>) {
      // Which template version a desktop was made from (server/broker/template-versions.ts).
      await db.schema.alterTable('desktops').addColumn('template_version', 'integer').execute();
    },
  },
  '0006-replicas': {
    async up(db: Kysely<unknown>) {
      // Several portal replicas on one PostgreSQL: which replica relays each console and drives
      // (boots, watches) each desktop's VM, and each
      // replica's heartbeat (server/replicas.ts), so a replica's start ends only its own consoles
      // and the lease holder ends the consoles of a replica that died.
      await db.schema.alterTable('console_sessions').addColumn('relayed_by', 'text').execute();
      await db.schema.alterTable('desktops').addColumn('driven_by', 'text').execute();
      await db.schema
        .createTable('replicas')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('started_at', 'bigint', (c) => c.notNull())
        .addColumn('seen_at', 'bigint', (c) => c.notNull())
        .addColumn('holds_lease', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
    },
  },
});

export const migrationProvider = (engine: Engine): MigrationProvider => ({
  async getMigrations() {
    return migrations(engine);
  },
});
