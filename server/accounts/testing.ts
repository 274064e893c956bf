/**
 * For the accounts tests only: a fresh database (the one test database of
 * server/db/test-database.ts: a SQLite file in a temp folder, or the PostgreSQL database named
 * by FLOE_TEST_DATABASE_URL, emptied) and a clock the tests move by hand.
 */
import { openTestDatabase } from '../db/test-database';

/** A fresh test database; the same as openTestDatabase, under the name the accounts tests use. */
export const freshDatabase = openTestDatabase;

export class ManualClock {
  constructor(public ms = Date.UTC(2030, 0, 1, 9, 0, 0)) {}
  now = () => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
}
