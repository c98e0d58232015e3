import { Client, type Dispatcher } from "undici";

/**
 * One request on a connection of its own, closed after it: with `server.workers`, the primary hands
 * each new connection to the next worker, so consecutive calls reach every worker in turn.
 */
export async function onOwnConnection(
  port: number,
  req: Omit<Dispatcher.RequestOptions, "origin">,
): Promise<{ status: number; body: string }> {
  const client = new Client(`http://127.0.0.1:${port}`);
  try {
    const res = await client.request(req);
    return { status: res.statusCode, body: await res.body.text() };
  } finally {
    await client.close();
  }
}
