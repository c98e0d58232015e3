import { BlockList, isIP } from "node:net";
import { invalidField, type FieldPath } from "./errors";

/**
 * Which hosts branch URLs may point at (`branch.allowedTargets`): host patterns (`bank`,
 * `*.svc.cluster.local`, `api.example.com:8443`) and CIDRs (`10.0.0.0/8`, `fd00::/8`). Empty allows
 * any host, as dtm does. A CIDR matches URLs that name an IP address; host names are not resolved, so
 * list the names branches are called by.
 */
export class TargetPolicy {
  private readonly cidrs = new BlockList();
  private readonly patterns: { host: RegExp; port: string | undefined }[] = [];
  private readonly empty: boolean;

  constructor(readonly entries: readonly string[]) {
    this.empty = entries.length === 0;
    for (const entry of entries) {
      const problem = TargetPolicy.problem(entry);
      if (problem !== null) throw new Error(`branch.allowedTargets: ${JSON.stringify(entry)} ${problem}`);
      const cidr = /^(.+)\/(\d+)$/.exec(entry);
      if (cidr) {
        const type = isIP(cidr[1]!) === 6 ? "ipv6" : "ipv4";
        this.cidrs.addSubnet(cidr[1]!, Number(cidr[2]), type);
        continue;
      }
      const [, host, port] = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(entry)!;
      const source = host!
        .toLowerCase()
        .replace(/^\[|\]$/g, "")
        .split("*")
        .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
        .join("[a-z0-9.-]+");
      this.patterns.push({ host: new RegExp(`^${source}$`), port });
    }
  }

  /** Why `entry` is neither a CIDR nor a host pattern; null when it is one. */
  static problem(entry: string): string | null {
    const cidr = /^(.+)\/(\d+)$/.exec(entry);
    if (cidr) {
      const family = isIP(cidr[1]!);
      const bits = Number(cidr[2]);
      if (family === 0) return "is not a CIDR (an IP address before the /)";
      if (bits > (family === 4 ? 32 : 128)) return `has a prefix longer than ${family === 4 ? 32 : 128} bits`;
      return null;
    }
    if (/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9*_.-]+)(:\d{1,5})?$/.test(entry)) return null;
    return "is neither a host pattern (bank, *.svc.cluster.local, host:8080) nor a CIDR (10.0.0.0/8)";
  }

  /** Whether a branch URL (http(s) or a gRPC `host:port/Service/Method` target) may be called. */
  allows(url: string): boolean {
    if (this.empty) return true;
    const target = hostAndPort(url);
    if (target === null) return false;
    const { host, port } = target;
    const family = isIP(host);
    if (family !== 0 && this.cidrs.check(host, family === 6 ? "ipv6" : "ipv4")) return true;
    return this.patterns.some((p) => p.host.test(host) && (p.port === undefined || p.port === port));
  }

  /** Refuses (bad input at `path`, naming the URL) a branch URL the policy does not allow. */
  check(url: string, path: FieldPath): void {
    if (url === "" || this.allows(url)) return;
    throw invalidField(
      path,
      `${JSON.stringify(url)} is not an allowed branch target (branch.allowedTargets: ${this.entries.join(", ")})`,
    );
  }
}

/** The host (lowercase, IPv6 without brackets) and port of a branch URL; null when there is none. */
function hostAndPort(url: string): { host: string; port: string } | null {
  if (/^https?:\/\//i.test(url)) {
    if (!URL.canParse(url)) return null;
    const u = new URL(url);
    const port = u.port || (u.protocol === "https:" ? "443" : "80");
    return { host: u.hostname.toLowerCase().replace(/^\[|\]$/g, ""), port };
  }
  const grpc = /^(\[[^\]]+\]|[^/:]+):(\d+)\//.exec(url);
  if (!grpc) return null;
  return { host: grpc[1]!.toLowerCase().replace(/^\[|\]$/g, ""), port: grpc[2]! };
}

/**
 * Refuses a new transaction's or registration's URLs outside the policy: its check-back URL
 * (`query_prepared`) and each branch row's, named by the row's op (`action`, `compensate`, `confirm`…).
 */
export function checkTargets(
  policy: TargetPolicy | undefined,
  queryPrepared: string,
  rows: readonly { op: string; url: string }[],
): void {
  if (policy === undefined) return;
  policy.check(queryPrepared, ["query_prepared"]);
  for (const row of rows) policy.check(row.url, [row.op]);
}
