/**
 * The request/reply protocol between the bench and the helper processes it forks (load generator,
 * branch service), over Node's IPC channel. The child announces itself with one `ready` message, then
 * answers each request by its id.
 */

/** A request from the bench: `id` pairs it with its reply. */
export type IpcRequest<T = unknown> = { id: number; body: T };

/** A message from a child. */
export type IpcMessage =
  { ready: unknown } | { id: number; result: unknown; error?: undefined } | { id: number; error: string };

/**
 * Child side: sends `ready`, then answers every request with `handle`'s result (or its error message).
 * The child exits when the bench goes away (the channel closes), so a crashed bench leaves nothing behind.
 */
export function serveParent<T>(ready: unknown, handle: (body: T) => Promise<unknown>): void {
  const send = (m: IpcMessage) => process.send?.(m);
  process.on("message", (m: IpcRequest<T>) => {
    handle(m.body).then(
      (result) => send({ id: m.id, result }),
      (err: unknown) => send({ id: m.id, error: err instanceof Error ? err.message : String(err) }),
    );
  });
  process.on("disconnect", () => process.exit(0));
  // the bench stops its children itself, in order; a terminal's Ctrl-C is for the bench only
  process.on("SIGINT", () => undefined);
  send({ ready });
}
