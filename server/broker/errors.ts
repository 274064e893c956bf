/**
 * The broker's named errors. Each carries a message written for the person who will read it on
 * the page, and an HTTP status that route handlers use.
 */

export class BrokerError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class PoolExhaustedError extends BrokerError {
  constructor(poolTitle: string, maxSize: number) {
    super(`All ${maxSize} desktops of "${poolTitle}" are in use; try again later or ask the helpdesk.`, 503);
  }
}

export class UnknownPoolError extends BrokerError {
  constructor(name: string) {
    super(`There is no desktop pool named "${name}".`, 404);
  }
}

export class DesktopNotFoundError extends BrokerError {
  constructor() {
    super('This desktop does not exist or is not yours.', 404);
  }
}

export class DesktopNotReadyError extends BrokerError {
  constructor(state: string) {
    super(`The desktop is not ready yet (it is ${state}).`, 409);
  }
}

export class PoolDrainingError extends BrokerError {
  constructor(poolTitle: string) {
    super(`"${poolTitle}" is being retired and gives out no new desktops; please ask the helpdesk.`, 503);
  }
}

export class TooManyTicketsError extends BrokerError {
  constructor(perMinute: number) {
    super(`Too many console connections asked for (more than ${perMinute} a minute); wait a minute and try again.`, 429);
  }
}
