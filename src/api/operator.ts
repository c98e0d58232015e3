import { createContextKey } from "@connectrpc/connect";

/**
 * Who calls the admin service: the name of the token the call carried (set by the server's guard), or
 * `anonymous` when the coordinator needs none (it listens on loopback only, without `admin.token`).
 */
export const OPERATOR = createContextKey<string>("anonymous", { description: "dtx admin operator" });
