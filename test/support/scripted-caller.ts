import type { BranchCaller, BranchOutcome, BranchRequest, BranchResult } from "../../src/core/branch-caller";
import type { Protocol } from "../../src/core/model";

/** One call the scripted caller answered. */
export interface ScriptedCall extends BranchRequest {
  protocol: Protocol;
  /** Date.now() when it was called. */
  at: number;
}

/** An answer: an outcome (detail = the outcome's name), or one with a detail text. */
export type ScriptedAnswer = BranchOutcome | BranchResult;

/** The route name of a URL: its last path segment (`http://rm/TransOut` → `TransOut`). */
export function routeOf(url: string): string {
  return url.slice(url.lastIndexOf("/") + 1);
}

/**
 * A BranchCaller for core unit tests: answers by route name (the URL's last segment) from a script —
 * queued answers first, then the route's default, else SUCCESS — and logs every call. No network.
 */
export class ScriptedCaller implements BranchCaller {
  readonly calls: ScriptedCall[] = [];
  private readonly queued = new Map<string, ScriptedAnswer[]>();
  private readonly defaults = new Map<string, ScriptedAnswer>();

  /** The next answers of route `name`, in order. */
  script(name: string, ...answers: ScriptedAnswer[]): void {
    this.queued.set(name, [...(this.queued.get(name) ?? []), ...answers]);
  }

  /** What route `name` answers once its script is used up. */
  setDefault(name: string, answer: ScriptedAnswer): void {
    this.defaults.set(name, answer);
  }

  /** The routes called, in order. */
  routes(): string[] {
    return this.calls.map((c) => routeOf(c.url));
  }

  async call(protocol: Protocol, req: BranchRequest): Promise<BranchResult> {
    this.calls.push({ ...req, protocol, at: Date.now() });
    const name = routeOf(req.url);
    const answer = this.queued.get(name)?.shift() ?? this.defaults.get(name) ?? "SUCCESS";
    return typeof answer === "string" ? { outcome: answer, detail: answer } : answer;
  }
}
