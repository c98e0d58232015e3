import { sendJson, type Req, type Res } from "../api/http-io";
import type { Config } from "./config";
import { Listener } from "./listener";
import { bindError } from "./startup-error";

/** What a listener runs for every request. */
export type Handler = Parameters<typeof Listener.listen>[0]["handler"];

/** What a request gets between the bind and the store being ready. */
export function answerStarting(req: Req, res: Res): void {
  res.setHeader("retry-after", "1");
  sendJson(res, 503, { message: "dtx is starting; retry in a moment" });
  void req;
}

/** Binds every configured port; on a failure, closes the ones bound and throws a StartupError. */
export async function bindAll(config: Config, handler: Handler): Promise<Listener[]> {
  const listeners: Listener[] = [];
  for (const port of config.server.ports) {
    try {
      listeners.push(
        await Listener.listen({
          host: config.server.host,
          port,
          handler,
          drainTimeoutMs: config.server.shutdownTimeout,
          maxHeaderBytes: config.server.maxHeaderBytes,
        }),
      );
    } catch (err) {
      await Promise.all(listeners.map((l) => l.close()));
      throw bindError(err, config.server.host, port) ?? err;
    }
  }
  return listeners;
}
