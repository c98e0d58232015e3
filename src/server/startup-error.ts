/**
 * Why the coordinator cannot start, in one line for an operator: it names the configuration key, the
 * port or the directory at fault. `main` prints the message alone — no stack trace — and exits.
 */
export class StartupError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = "StartupError";
  }
}

/**
 * A listener's bind error as a StartupError naming the port (or the host), or null when it is none
 * of the known ones.
 */
export function bindError(err: unknown, host: string, port: number): StartupError | null {
  const code = (err as NodeJS.ErrnoException)?.code;
  const where = `${host}:${port}`;
  if (code === "EADDRINUSE") {
    return new StartupError(
      `server.ports: port ${port} is in use (${where}): another dtx or another program listens there`,
      err,
    );
  }
  if (code === "EACCES") {
    return new StartupError(`server.ports: port ${port} needs privileges this process lacks (${where})`, err);
  }
  if (code === "EADDRNOTAVAIL" || code === "ENOTFOUND" || code === "EAI_AGAIN") {
    return new StartupError(`server.host: ${host} is not an address of this machine (${code})`, err);
  }
  return null;
}
