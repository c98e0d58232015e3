import type { Logger } from "pino";
import { Agent } from "undici";
import type { RetryAlert } from "../core/alerts";

/** Alerts on their way at once; more are dropped (and logged) rather than queued without bound. */
const MAX_IN_FLIGHT = 64;

/**
 * Posts alerts to the configured webhook (dtm's AlertWebHook): dtm's JSON body, best effort — a
 * webhook that fails or is slow is logged and never holds up a pass.
 */
export class AlertWebhook {
  private readonly agent = new Agent({ connections: 8, keepAliveTimeout: 30_000 });
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly url: string,
    private readonly timeoutMs: number,
    private readonly logger: Logger,
  ) {}

  /** Sends one alert without waiting for it (the core's AlertSink). */
  readonly send = (alert: RetryAlert): void => {
    if (this.inFlight.size >= MAX_IN_FLIGHT) {
      this.logger.warn({ gid: alert.gid }, "alert dropped: too many alerts on their way");
      return;
    }
    const sent = this.post(alert).finally(() => this.inFlight.delete(sent));
    this.inFlight.add(sent);
  };

  private async post(alert: RetryAlert): Promise<void> {
    const body = JSON.stringify({
      gid: alert.gid,
      status: alert.status,
      branch: alert.url,
      error: alert.error,
      retry_count: alert.retryCount,
      branch_id: alert.branchId,
      op: alert.op,
    });
    try {
      const url = new URL(this.url);
      const res = await this.agent.request({
        origin: url.origin,
        path: url.pathname + url.search,
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
      await res.body.dump();
      if (res.statusCode >= 300) {
        this.logger.warn({ gid: alert.gid, status: res.statusCode }, "alert webhook answered an error");
      }
    } catch (err) {
      this.logger.warn({ err, gid: alert.gid }, "alert webhook failed");
    }
  }

  /** Waits for the alerts on their way, then closes the connections. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
    await this.agent.close();
  }
}
