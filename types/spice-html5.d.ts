/** Types for the parts of @spice-project/spice-html5 (plain ES modules, no types) that Floe uses. */
declare module '@spice-project/spice-html5' {
  export interface SpiceMainConnOptions {
    uri: string;
    screen_id: string;
    password?: string;
    message_id?: string;
    onerror?: (error: Error) => void;
    onsuccess?: () => void;
    onagent?: (connection: SpiceMainConn) => void;
  }
  export class SpiceMainConn {
    constructor(options: SpiceMainConnOptions);
    stop(message?: string): void;
  }
  export function sendCtrlAltDel(connection: SpiceMainConn): void;
  export function resize_helper(connection: SpiceMainConn): void;
  export function handle_resize(): void;
}
