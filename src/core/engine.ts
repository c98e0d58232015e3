import { Code, ConnectError } from "@connectrpc/connect";
import type { Logger } from "pino";
import type { AlertSink } from "./alerts";
import type { BranchCaller } from "./branch-caller";
import type { Clock } from "./clock";
import { checkedKind, NO_LOOKUPS, resolvedTrans, type CreationContext } from "./creation";
import { Driver, type DriverSettings } from "./driver";
import { failure, invalidField } from "./errors";
import { checkGid } from "./gid-check";
import { finish, prepareOrLoad, type ClientDrivenContext } from "./client-driven";
import { lastFailureOf } from "./last-failure";
import { listFilter, type ListQuery } from "./listing";
import { insertedRows, newRecord } from "./new-record";
import type {
  BranchRecord,
  BranchRegistration,
  NewTrans,
  TransRecord,
  TransSettings,
  TransStatus,
} from "./model";
import type { PassObserver } from "./observer";
import { forceStop, retryDelayed, retryNow, type OperatorContext } from "./operator-verbs";
import { kinds as defaultKinds, kindOf, type KindRegistry } from "./registry";
import type { DelayedDue, TransPage, TransRepository, UnfinishedSummary } from "./repository";
import { checkTargets, type TargetPolicy } from "./target-policy";
import type { ResolveContext, TransKind } from "./trans-kind";
import { checkPayloads, DEFAULT_MAX_PAYLOAD_BYTES } from "./payload-check";
import { Admission, UNLIMITED, type AdmissionLimits } from "./admission";

/** Server settings of the engine (ms). */
export interface EngineSettings extends DriverSettings {
  maxSteps: number;
  /** Largest payload of one branch row, bytes. Default DEFAULT_MAX_PAYLOAD_BYTES. */
  maxPayloadBytes?: number;
  /** Admission control of submits. Default: none (UNLIMITED). */
  admission?: AdmissionLimits;
  maxGidLength: number;
  maxPageSize: number;
  /** Where branch URLs may point (`branch.allowedTargets`); absent: anywhere, as in dtm. */
  targets?: TargetPolicy;
}

/** Passes of the same coordinator run by another engine (on another thread). */
export interface OtherPasses {
  /** How many run now. */
  readonly running: number;
  /** Stops its pass of `gid`, if one runs. */
  stop(gid: string): void;
}

/** What the engine is built from: its ports, its clock and settings, and its kinds. */
export interface EngineDeps {
  repository: TransRepository;
  caller: BranchCaller;
  clock: Clock;
  settings: EngineSettings;
  logger: Logger;
  /** The transaction kinds it drives. Default: every kind of this coordinator (registry.ts). */
  kinds?: KindRegistry;
  /** Where alerts of branches that keep failing go (settings.alertRetryLimit); absent: nowhere. */
  alerts?: AlertSink;
  /** What kinds look up while a transaction is created (msg topics). Default: no topic exists. */
  lookups?: ResolveContext;
  /** Told about every pass (metrics, traces); absent: nobody. */
  observer?: PassObserver;
}

/** A transaction with its branch rows (a workflow's: its recorded progress). */
export interface TransWithBranches {
  trans: TransRecord;
  branches: BranchRecord[];
}

/** What a lifecycle verb did. */
export interface VerbOutcome {
  /** The transaction afterwards: after the first pass when the caller waits for it, else as stored. */
  trans: TransRecord;
}

/** An abort as an adapter hands it over (dtm's abort body: gid, trans_type, rollback_reason). */
export interface AbortRequest {
  gid: string;
  transType: string;
  rollbackReason: string;
  /** Wait for the rollback's first pass; undefined: as the transaction's stored option says. */
  waitResult?: boolean;
}

/**
 * The coordinator core: the lifecycle verbs (dtm's svcPrepare / svcSubmit / svcAbort /
 * svcRegisterBranch), generic over kinds, each checking the stored status with a compare-and-set;
 * the reads every adapter goes through; and (through its Driver) passes, leases and recovery. A
 * happy-path saga costs two commits: the insert of the transaction with all its branches, and the
 * final write of its pass.
 */
export class Engine {
  readonly clock: Clock;
  private readonly repository: TransRepository;
  private readonly settings: EngineSettings;
  private readonly kinds: KindRegistry;
  private readonly creation: CreationContext;
  private readonly driver: Driver;
  private readonly admission: Admission;
  private readonly operator: OperatorContext;
  private readonly clientDriven: ClientDrivenContext;

  private get maxPayloadBytes(): number {
    return this.settings.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  }

  constructor(deps: EngineDeps) {
    this.admission = new Admission(deps.settings.admission ?? UNLIMITED);
    this.clock = deps.clock;
    this.repository = deps.repository;
    this.settings = deps.settings;
    this.kinds = deps.kinds ?? defaultKinds;
    this.creation = {
      kinds: this.kinds,
      maxGidLength: deps.settings.maxGidLength,
      maxSteps: deps.settings.maxSteps,
      lookups: deps.lookups ?? NO_LOOKUPS,
      find: (gid) => deps.repository.find(gid),
    };
    this.driver = new Driver(
      deps.repository,
      deps.caller,
      deps.clock,
      deps.settings,
      this.kinds,
      deps.logger,
      deps.alerts,
      deps.observer,
    );
    this.operator = {
      repository: deps.repository,
      clock: deps.clock,
      stopPass: (gid) => {
        this.stopPass(gid);
        this.otherPasses?.stop(gid);
      },
      maxPageSize: deps.settings.maxPageSize,
    };
    this.clientDriven = {
      repository: deps.repository,
      clock: deps.clock,
      maxGidLength: deps.settings.maxGidLength,
      validated: (t) => checkedKind(this.creation, t, "prepare"),
      newRecord: (t, kind) => {
        checkTargets(deps.settings.targets, t.queryPrepared, []);
        return this.newRecord(t, kind, "prepared", "");
      },
      get: (gid) => this.get(gid),
    };
  }

  /**
   * Creates a transaction as `prepared` (tcc, xa, msg, workflow). A stored `prepared` one with the
   * gid answers success with nothing rewritten; any other stored status is a FAILURE.
   */
  async prepare(request: NewTrans): Promise<VerbOutcome> {
    const kind = checkedKind(this.creation, request, "prepare");
    const t = await resolvedTrans(this.creation, kind, request);
    if (t) {
      const fresh = this.newRecord(t, kind, "prepared", "");
      const branches = kind.branchesOf(t.definition);
      checkPayloads(branches, this.maxPayloadBytes);
      checkTargets(this.settings.targets, t.queryPrepared, branches);
      const inserted = await this.repository.insert(fresh, branches);
      if (inserted) return { trans: { ...fresh, id: inserted.id } };
    }
    const stored = await this.repository.find(request.gid);
    if (stored?.status === "prepared") return { trans: stored };
    throw failure(`current status '${stored?.status ?? "unknown"}', cannot prepare`);
  }

  /**
   * Creates and drives a transaction (dtm's submit). With the gid taken: a `prepared` one moves to
   * `submitted` (taking the lease from whoever looked at it) and is driven from its stored rows; a
   * `submitted` one is re-driven from its stored rows unless another coordinator's live lease holds
   * it; a finished one is a FAILURE.
   */
  async submit(request: NewTrans): Promise<VerbOutcome> {
    // a client-driven transaction's submit reports how its client ended it (client-driven.ts)
    if (kindOf(this.kinds, request.definition.kind).lifecycle.clientDriven) {
      return finish(this.clientDriven, request);
    }
    const kind = checkedKind(this.creation, request, "submit");
    return this.admitted(request.gid, () => this.submitChecked(request, kind));
  }

  /**
   * Runs a submit once admission control has a slot for it (or refuses it, RESOURCE_EXHAUSTED, with
   * nothing written); the slot is freed when the pass of `gid` it started has ended.
   */
  private async admitted(gid: string, submit: () => Promise<VerbOutcome>): Promise<VerbOutcome> {
    const slot = await this.admission.enter();
    try {
      const out = await submit();
      slot.freeAfter(this.driver.settled(gid));
      return out;
    } catch (err) {
      slot.freeNow();
      throw err;
    }
  }

  /** Whether submits are queued or every submit slot is taken (the recovery worker then backs off). */
  get saturated(): boolean {
    return this.admission.saturated;
  }

  /** Submits waiting for a slot (admission control). */
  get queuedSubmits(): number {
    return this.admission.queued;
  }

  private async submitChecked(request: NewTrans, kind: TransKind): Promise<VerbOutcome> {
    const t = await resolvedTrans(this.creation, kind, request);
    if (t) {
      const fresh = this.newRecord(t, kind, "submitted", this.driver.newOwner());
      const branches = kind.branchesOf(t.definition);
      checkPayloads(branches, this.maxPayloadBytes);
      checkTargets(this.settings.targets, t.queryPrepared, branches);
      const inserted = await this.repository.insert(fresh, branches);
      if (inserted) {
        const trans = { ...fresh, id: inserted.id };
        return this.run(trans, insertedRows(trans, branches, inserted), t.options.waitResult);
      }
    }
    await this.driver.settled(request.gid);
    return this.resubmit(request.gid, request.options.waitResult, { t: request, kind });
  }

  /**
   * Submits a stored transaction by its gid alone (the native API): as `submit` does with a taken gid
   * — a `prepared` one moves to `submitted` and is driven from its stored rows, a `submitted` one is
   * re-driven. NotFound for an unknown gid.
   */
  async submitStored(gid: string, waitResult: boolean): Promise<VerbOutcome> {
    checkGid(gid, this.settings.maxGidLength);
    const stored = await this.repository.find(gid);
    if (!stored) throw new ConnectError(`no transaction with gid ${JSON.stringify(gid)}`, Code.NotFound);
    return this.admitted(gid, async () => {
      await this.driver.settled(gid);
      return this.resubmit(gid, waitResult);
    });
  }

  /**
   * A submit of a gid that is taken (see `submit`); once more if a prepared one moved meanwhile. A
   * prepared one of the request's kind (`request`: the submit carried a definition) keeps the
   * settings the kind takes from a submit.
   */
  private async resubmit(
    gid: string,
    wait: boolean,
    request?: { t: NewTrans; kind: TransKind },
    again = true,
  ): Promise<VerbOutcome> {
    // read first: a prepared tcc, xa or msg (the usual submit of a taken gid) needs no claim attempt
    const stored = await this.repository.find(gid);
    if (stored?.status === "submitted") {
      const claimed = await this.claim(gid, "submitted");
      if (claimed) return this.runStored(claimed, wait);
      // another coordinator's live lease drives it now, unless it moved on meanwhile: look again
      return again ? this.resubmit(gid, wait, request, false) : { trans: stored };
    }
    if (stored?.status === "prepared") {
      const settings =
        request && stored.transType === request.t.definition.kind
          ? request.kind.settingsOnSubmit?.(stored.settings, request.t.definition)
          : undefined;
      const moved = await this.move(stored, "submitted", "", settings);
      if (moved) return this.runStored(moved, wait);
      if (again) return this.resubmit(gid, wait, request, false);
    }
    // dtm's text, typo included: SDKs and operators match on it
    throw failure(`current status '${stored?.status ?? "unknown"}', cannot sumbmit`);
  }

  /**
   * Creates a client-driven transaction (a workflow) as `prepared`, or loads the stored one with its
   * recorded progress, whatever its status (dtm's prepareWorkflow; client-driven.ts).
   */
  prepareOrLoad(t: NewTrans): Promise<TransWithBranches> {
    return prepareOrLoad(this.clientDriven, t);
  }

  /**
   * Aborts a transaction by its kind's rule: to `aborting` (storing the reason) and driven, or to
   * `failed` with nothing called. The request's kind must be the stored one.
   */
  async abort(r: AbortRequest): Promise<VerbOutcome> {
    checkGid(r.gid, this.settings.maxGidLength);
    const stored = await this.repository.find(r.gid);
    if (!stored) throw new ConnectError(`no TransGlobal with gid: ${r.gid} found`, Code.NotFound);
    const rule = kindOf(this.kinds, stored.transType).lifecycle.abort;
    const refused = (s: TransRecord | null): ConnectError =>
      failure(`trans type: '${stored.transType}' current status '${s?.status ?? "unknown"}', cannot abort`);
    if (!rule || r.transType !== stored.transType || !rule.from.includes(stored.status))
      throw refused(stored);
    const wait = r.waitResult ?? stored.options.waitResult;
    if (rule.to === "failed") {
      const failed = await this.repository.changeStatus({
        gid: r.gid,
        from: [stored.status],
        to: "failed",
        rollbackReason: r.rollbackReason,
        now: this.clock.now(),
      });
      if (!failed) throw refused(await this.repository.find(r.gid));
      return { trans: failed };
    }
    const moved =
      stored.status === "aborting"
        ? await this.claim(r.gid, "aborting")
        : await this.move(stored, "aborting", r.rollbackReason);
    if (moved) return this.runStored(moved, wait);
    const now = await this.repository.find(r.gid);
    // aborting under another coordinator's live lease: it rolls back already
    if (now?.status === "aborting" && stored.status === "aborting") return { trans: now };
    throw refused(now);
  }

  /**
   * Adds the rows of a branch registration (tcc, xa, workflow) to a `prepared` transaction of the
   * request's kind, all in one statement that locks the global row in `prepared`: a registration
   * racing a move to `aborting` either commits before it (and is cancelled) or is refused.
   */
  async registerBranch(r: BranchRegistration): Promise<void> {
    checkGid(r.gid, this.settings.maxGidLength);
    const kind = kindOf(this.kinds, r.transType);
    // dtm's text, typo included
    if (!kind.registration) throw invalidField(["trans_type"], `unknow trans type: ${r.transType}`);
    const notPrepared = (): ConnectError => failure(`no trans with gid: ${r.gid} status: prepared found`);
    const stored = await this.repository.find(r.gid);
    if (stored?.status !== "prepared") throw notPrepared();
    if (stored.transType !== r.transType) {
      throw invalidField(["trans_type"], `${r.gid} is a ${stored.transType} transaction, not ${r.transType}`);
    }
    const rows = kind.registration(r, stored);
    checkPayloads(rows, this.maxPayloadBytes, "data");
    checkTargets(this.settings.targets, "", rows);
    const added = await this.repository.addBranches(r.gid, "prepared", rows, this.clock.now());
    if (added === "wrong-status") throw notPrepared();
    if (added === "duplicate") {
      throw new ConnectError(`branch ${r.branchId} of ${r.gid} is registered already`, Code.AlreadyExists);
    }
  }

  /**
   * One transaction with its branch rows and its last failure (with `branches: false`, the
   * transaction alone, read in one statement); null when the gid is unknown.
   */
  async get(gid: string, opts: { branches?: boolean } = {}): Promise<TransWithBranches | null> {
    if (gid === "") throw invalidField(["gid"], "is required");
    const trans = await this.repository.find(gid);
    if (!trans) return null;
    if (opts.branches === false) return { trans, branches: [] };
    const branches = await this.repository.findBranches([gid]);
    return { trans: { ...trans, lastFailure: lastFailureOf(branches) }, branches };
  }

  /** A page of transactions, newest first; the page size and the cursor are checked here for every adapter. */
  list(q: ListQuery): Promise<TransPage> {
    return this.repository.list(listFilter(q, this.settings.maxPageSize));
  }

  /** The unfinished transactions at a glance, and how many passes this process runs now. */
  async summary(): Promise<UnfinishedSummary & { runningPasses: number }> {
    const summary = await this.repository.unfinishedSummary(this.clock.now());
    return { ...summary, runningPasses: this.driver.runningPasses + (this.otherPasses?.running ?? 0) };
  }

  /** Fails an unfinished transaction at once; no branch is called afterwards (operator-verbs.ts). */
  forceStop(gid: string, operator?: string): Promise<TransRecord> {
    return forceStop(this.operator, gid, operator);
  }

  /** Makes an unfinished transaction due now (operator-verbs.ts). */
  async retryNow(gid: string): Promise<TransRecord> {
    const trans = await retryNow(this.operator, gid);
    this.onMadeDue();
    return trans;
  }

  /** Makes due now up to `limit` unfinished transactions next looked at beyond `beyondMs` from now. */
  async retryDelayed(beyondMs: number, limit: number, beyondField?: string): Promise<DelayedDue> {
    const out = await retryDelayed(this.operator, beyondMs, limit, beyondField);
    if (out.count > 0) this.onMadeDue();
    return out;
  }

  /**
   * Called when an operator verb has made transactions due now (the recovery worker then claims at
   * once instead of at its next poll). Does nothing until set.
   */
  onMadeDue: () => void = () => undefined;

  /**
   * The passes this coordinator runs outside this engine (its recovery thread's): counted in the
   * summary, and told to stop a pass when a transaction is force-stopped. None until set.
   */
  otherPasses: OtherPasses | null = null;

  /** Stops this engine's pass of `gid`, if one runs (a force-stop made by another engine). */
  stopPass(gid: string): void {
    this.driver.stop(gid);
  }

  /**
   * Claims up to `limit` due transactions (next look ≤ now + lookAheadMs) and starts a pass for each;
   * `passes` settle when each has been written.
   */
  claimAndDrive(limit: number, lookAheadMs = 0): Promise<{ gids: string[]; passes: Promise<unknown>[] }> {
    return this.driver.claimAndDrive(limit, lookAheadMs);
  }

  /** One claim of due transactions, waiting for their passes (tests and operators: "run the cron once"). */
  async recoverOnce(limit: number, lookAheadMs = 0): Promise<string[]> {
    const { gids, passes } = await this.driver.claimAndDrive(limit, lookAheadMs);
    await Promise.allSettled(passes);
    return gids;
  }

  /** Resolves when no pass of `gid` (or of any gid) is running in this process. */
  settled(gid?: string): Promise<void> {
    return this.driver.settled(gid);
  }

  /** Passes running now. */
  get inFlight(): number {
    return this.driver.inFlight;
  }

  /** This coordinator's id: the first part of the owner token of every lease it takes. */
  get coordinatorId(): string {
    return this.driver.coordinatorId;
  }

  /**
   * Stops taking new work and waits up to `timeoutMs` for running passes; the transactions of
   * passes still running then are made due again so another coordinator takes them at once.
   */
  close(timeoutMs: number): Promise<void> {
    return this.driver.close(timeoutMs);
  }

  /** A new transaction as the verbs insert it (see new-record.ts). */
  private newRecord(t: NewTrans, kind: TransKind, status: TransStatus, owner: string): TransRecord {
    return newRecord(t, kind, status, owner, this.clock.now(), {
      leaseMs: this.driver.leaseFor(t.options),
      timeoutToFailMs: this.settings.timeoutToFailMs,
      retry: this.settings.retry,
    });
  }

  /** Takes a free or expired lease of a transaction in `status` (never a live one). */
  private claim(gid: string, status: TransStatus): Promise<TransRecord | null> {
    const now = this.clock.now();
    return this.repository.claimByGid({
      gid,
      statuses: [status],
      owner: this.driver.newOwner(),
      now,
      leaseUntil: new Date(now.getTime() + this.driver.leaseFor(null)),
    });
  }

  /**
   * Moves a stored transaction to `to` by compare-and-set on its status, taking the lease whoever
   * held it: a recovery pass that held it only to look at its timeout then loses its own write.
   */
  private move(
    stored: TransRecord,
    to: TransStatus,
    reason: string,
    settings?: TransSettings,
  ): Promise<TransRecord | null> {
    const now = this.clock.now();
    return this.repository.changeStatus({
      gid: stored.gid,
      from: [stored.status],
      to,
      rollbackReason: reason,
      settings,
      now,
      lease: {
        owner: this.driver.newOwner(),
        until: new Date(now.getTime() + this.driver.leaseFor(stored.options)),
      },
    });
  }

  /** Drives a transaction this process holds from its stored rows. */
  private async runStored(trans: TransRecord, wait: boolean): Promise<VerbOutcome> {
    return this.run(trans, await this.repository.findBranches([trans.gid]), wait);
  }

  /** Drives a transaction this process holds; answers at once, or after the pass when the caller waits. */
  private async run(trans: TransRecord, branches: BranchRecord[], wait: boolean): Promise<VerbOutcome> {
    const pass = this.driver.drive(trans, branches);
    if (!wait) return { trans };
    // a pass whose write lost the compare-and-set reports what is stored, not what it saw
    return { trans: (await pass) ?? (await this.repository.find(trans.gid)) ?? trans };
  }
}
