/**
 * The relay's record of one console session: the channels open under one session key, the
 * upgrades still being admitted for it, and the byte counts of channels already closed. Once a
 * session starts closing (its main channel closed, or the server closed it) it keeps its end
 * reason and admits no new channel; a later upgrade with the same key starts a new session.
 */
import type { ConsoleChannel } from './channel';
import type { ActiveConsoleSession, ConsoleSessionSummary } from './types';

export class ConsoleSession {
  readonly channels = new Set<ConsoleChannel>();
  /** Upgrades admitted for this session whose WebSocket is not open yet. */
  reservedChannels = 0;
  /** WebSocket channels that ever opened in this session. */
  openedChannels = 0;
  startedAt = 0;
  /** The session's admitted main channel: when it closes, the session closes. */
  mainChannel: ConsoleChannel | undefined;
  /** Set when the whole session is being closed; that reason ends it. */
  closingReason: string | undefined;
  private closedBytesToDesktop = 0;
  private closedBytesToBrowser = 0;

  constructor(readonly key: string) {}

  /** Open channels plus upgrades on their way: what the channel limit counts. */
  get channelCount(): number {
    return this.channels.size + this.reservedChannels;
  }

  add(channel: ConsoleChannel): void {
    if (this.openedChannels === 0) this.startedAt = Date.now();
    this.openedChannels += 1;
    this.channels.add(channel);
  }

  remove(channel: ConsoleChannel): void {
    if (!this.channels.delete(channel)) return;
    this.closedBytesToDesktop += channel.bytesToDesktop;
    this.closedBytesToBrowser += channel.bytesToBrowser;
  }

  snapshot(): ActiveConsoleSession {
    let bytesToDesktop = this.closedBytesToDesktop;
    let bytesToBrowser = this.closedBytesToBrowser;
    for (const channel of this.channels) {
      bytesToDesktop += channel.bytesToDesktop;
      bytesToBrowser += channel.bytesToBrowser;
    }
    return {
      sessionKey: this.key,
      channels: this.channels.size,
      startedAt: this.startedAt,
      bytesToDesktop,
      bytesToBrowser,
    };
  }

  summary(lastChannelReason: string | undefined): ConsoleSessionSummary {
    const { bytesToDesktop, bytesToBrowser } = this.snapshot();
    return {
      sessionKey: this.key,
      startedAt: this.startedAt,
      endedAt: Date.now(),
      bytesToDesktop,
      bytesToBrowser,
      channels: this.openedChannels,
      endReason: this.closingReason ?? lastChannelReason ?? 'closed',
    };
  }
}
