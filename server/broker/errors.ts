/**
 * The broker's named errors. Each carries a message written for the person who will read it on
 * the page, its words (a code and values the page says in the person's language, see
 * server/words.ts), and an HTTP status that route handlers use.
 */
import type { Words } from '../words';

export class BrokerError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly words: Words,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class PoolExhaustedError extends BrokerError {
  constructor(poolTitle: string, maxSize: number) {
    super(`All ${maxSize} desktops of "${poolTitle}" are in use; try again later or ask the helpdesk.`, 503, {
      code: 'poolFull',
      params: { pool: poolTitle, max: maxSize },
    });
  }
}

export class UnknownPoolError extends BrokerError {
  constructor(name: string) {
    super(`There is no desktop pool named "${name}".`, 404, { code: 'unknownPool', params: { pool: name } });
  }
}

export class DesktopNotFoundError extends BrokerError {
  constructor() {
    super('This desktop does not exist or is not yours.', 404, { code: 'desktopNotFound' });
  }
}

export class DesktopNotReadyError extends BrokerError {
  constructor(state: string) {
    super(`The desktop is not ready yet (it is ${state}).`, 409, { code: 'desktopNotReady', params: { state } });
  }
}

export class PoolDrainingError extends BrokerError {
  constructor(poolTitle: string) {
    super(`"${poolTitle}" is being retired and gives out no new desktops; please ask the helpdesk.`, 503, {
      code: 'poolDraining',
      params: { pool: poolTitle },
    });
  }
}

export class TooManyTicketsError extends BrokerError {
  constructor(perMinute: number) {
    super(`Too many console connections asked for (more than ${perMinute} a minute); wait a minute and try again.`, 429, {
      code: 'tooManyTickets',
      params: { perMinute },
    });
  }
}
