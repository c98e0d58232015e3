/**
 * The admin service's guard: a bearer token (`admin.token`, or the named tokens of `admin.tokenFile`)
 * compared in constant time, failures logged and answered slowly, and an audit line for each operator
 * action. Applies to the AdminService only: dtm's API and the native coordinator API stay open, as dtm's
 * SDKs send no credentials.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Logger } from "pino";
import { AdminService } from "../../gen/dtx/v1/admin_pb";
import { OPERATOR } from "../api/operator";
import { StartupError } from "./startup-error";

/** One accepted token and the name audit lines give its holder. */
export interface AdminToken {
  name: string;
  secret: string;
}

/** Shortest accepted token: long enough not to be guessed. */
export const MIN_TOKEN_LENGTH = 16;

/** The admin methods that change something: each writes an audit line. */
const ACTIONS = new Set(["ForceStop", "RetryNow", "RetryDelayed"]);

/** How long a refused call waits before it is answered: guessing tokens gets slow. */
const FAILURE_DELAY_MS = 1_000;

/**
 * The accepted tokens: `token` (named `admin`) and every line of `tokenFile` — `NAME TOKEN`, or a lone
 * `TOKEN` named after the file; blank lines and `#` comments skipped.
 *
 * @throws StartupError naming the key when the file cannot be read or a token is too short
 */
export function readAdminTokens(admin: { token: string; tokenFile: string }): AdminToken[] {
  const tokens: AdminToken[] = [];
  if (admin.token !== "") tokens.push({ name: "admin", secret: admin.token });
  if (admin.tokenFile !== "") {
    let text: string;
    try {
      text = readFileSync(admin.tokenFile, "utf8");
    } catch (err) {
      throw new StartupError(
        `admin.tokenFile: cannot read ${admin.tokenFile} (${(err as Error).message})`,
        err,
      );
    }
    text.split("\n").forEach((raw, i) => {
      const line = raw.trim();
      if (line === "" || line.startsWith("#")) return;
      const parts = line.split(/\s+/);
      if (parts.length > 2) {
        throw new StartupError(
          `admin.tokenFile: ${admin.tokenFile} line ${i + 1} is not "NAME TOKEN" or "TOKEN"`,
        );
      }
      const [name, secret] = parts.length === 2 ? parts : [admin.tokenFile, parts[0]!];
      if (secret!.length < MIN_TOKEN_LENGTH) {
        throw new StartupError(
          `admin.tokenFile: ${admin.tokenFile} line ${i + 1}: the token is shorter than ${MIN_TOKEN_LENGTH} characters`,
        );
      }
      tokens.push({ name: name!, secret: secret! });
    });
  }
  return tokens;
}

/**
 * The interceptor guarding the AdminService: with tokens configured every call needs
 * `authorization: Bearer <token>` (Connect, gRPC-Web and REST headers, gRPC metadata); with none
 * (loopback only) calls are open. The caller's token name is put in the context under {@link OPERATOR}.
 */
export function adminAuth(tokens: readonly AdminToken[], logger: Logger): Interceptor {
  const hashed = tokens.map((t) => ({ name: t.name, digest: digest(t.secret) }));
  return (next) => async (req) => {
    if (req.service.typeName !== AdminService.typeName) return next(req);
    const action = req.method.name;
    if (hashed.length > 0) {
      const name = match(hashed, req.header.get("authorization"));
      if (name === undefined) {
        logger.warn(
          { auth: "refused", action, userAgent: req.header.get("user-agent") ?? "" },
          "admin token refused",
        );
        await new Promise((resolve) => setTimeout(resolve, FAILURE_DELAY_MS));
        throw new ConnectError(
          "the admin API needs a valid token: send the header authorization: Bearer <admin.token>",
          Code.Unauthenticated,
        );
      }
      req.contextValues.set(OPERATOR, name);
    }
    if (!ACTIONS.has(action)) return next(req);
    const operator = req.contextValues.get(OPERATOR);
    const gid = (req.message as { gid?: unknown }).gid;
    const audit = { audit: true, action, gid: typeof gid === "string" ? gid : "", token: operator };
    try {
      const res = await next(req);
      logger.info({ ...audit, at: new Date().toISOString(), outcome: "ok" }, "operator action");
      return res;
    } catch (err) {
      const outcome = Code[ConnectError.from(err).code];
      logger.info({ ...audit, at: new Date().toISOString(), outcome }, "operator action");
      throw err;
    }
  };
}

function digest(secret: string): Buffer {
  return createHash("sha256").update(secret).digest();
}

/** The name of the token a header carries, comparing with every token in constant time; undefined: none. */
function match(
  tokens: readonly { name: string; digest: Buffer }[],
  header: string | null,
): string | undefined {
  const given = digest(/^Bearer\s+(.+)$/i.exec(header ?? "")?.[1]?.trim() ?? "");
  let found: string | undefined;
  for (const t of tokens) if (timingSafeEqual(t.digest, given) && found === undefined) found = t.name;
  return found;
}
