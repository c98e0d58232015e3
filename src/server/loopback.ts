import { isIP } from "node:net";

/** Whether a listen address serves this machine only (`127.0.0.0/8`, `::1`, `localhost`). */
export function isLoopback(host: string): boolean {
  if (host === "localhost" || host === "::1") return true;
  return isIP(host) === 4 && host.startsWith("127.");
}
