import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { AdminService } from "../../gen/dtx/v1/admin_pb";

/** Where a running coordinator is and how to prove who we are. */
export interface ServerOptions {
  server: string;
  token?: string;
}

/** The native admin service of a running coordinator over Connect (HTTP/1.1 JSON), with the bearer token. */
export function adminClient(opts: ServerOptions): Client<typeof AdminService> {
  const transport = createConnectTransport({
    baseUrl: opts.server,
    httpVersion: "1.1",
    useBinaryFormat: false,
    interceptors: [
      (next) => (req) => {
        if (opts.token) req.header.set("authorization", `Bearer ${opts.token}`);
        return next(req);
      },
    ],
  });
  return createClient(AdminService, transport);
}
