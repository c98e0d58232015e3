/**
 * The `dtx` commands that talk to a running coordinator over the native admin API (list, show,
 * force-stop, retry) and those that work on the store directly (migrate). Each resolves with what to
 * print and throws a CliError (message and exit code) when it fails.
 */
import { toJson, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  AdminServiceGetTransactionResponseSchema,
  AdminServiceListTransactionsResponseSchema,
  ForceStopResponseSchema,
  RetryNowResponseSchema,
} from "../../gen/dtx/v1/admin_pb";
import { TransactionKind, TransactionStatus } from "../../gen/dtx/v1/types_pb";
import { ConfigError, loadConfig } from "../server/config";
import { pendingMigrations } from "../store/migrate";
import { Store } from "../store/store";
import { adminClient, type ServerOptions } from "./admin-client";
import { callError, CliError, EXIT } from "./exit";
import { statusName, transactionTable, transactionView } from "./render";

/** What every command prints: `--json` for scripts, else text for a terminal. */
export interface OutputOptions {
  json?: boolean;
}

function json<D extends DescMessage>(schema: D, message: MessageShape<D>): string {
  return JSON.stringify(toJson(schema, message), null, 2) + "\n";
}

async function call<T>(opts: ServerOptions, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw callError(err, opts.server);
  }
}

/** An enum value by its short name (`submitted` → TRANSACTION_STATUS_SUBMITTED), or a usage error. */
function enumValue(names: Record<string, number | string>, flag: string, value: string): number {
  const n = names[value.toUpperCase()];
  if (typeof n !== "number" || n === 0) {
    const allowed = Object.keys(names)
      .filter((k) => Number.isNaN(Number(k)) && k !== "UNSPECIFIED")
      .map((k) => k.toLowerCase());
    throw new CliError(`${flag}: ${JSON.stringify(value)} is not one of ${allowed.join(", ")}`, EXIT.usage);
  }
  return n;
}

function date(flag: string, value: string | undefined): ReturnType<typeof timestampFromDate> | undefined {
  if (value === undefined) return undefined;
  const d = new Date(value);
  if (Number.isNaN(d.getTime()))
    throw new CliError(`${flag}: ${JSON.stringify(value)} is not a date`, EXIT.usage);
  return timestampFromDate(d);
}

/** `dtx list` filters. */
export interface ListOptions extends ServerOptions, OutputOptions {
  status?: string[];
  kind?: string;
  gidPrefix?: string;
  since?: string;
  until?: string;
  limit?: string;
  pageToken?: string;
}

export async function list(opts: ListOptions): Promise<string> {
  const pageSize = opts.limit === undefined ? 0 : Number(opts.limit);
  if (!Number.isInteger(pageSize) || pageSize < 0) {
    throw new CliError(`--limit: ${JSON.stringify(opts.limit)} is not a whole number`, EXIT.usage);
  }
  const request = {
    pageSize,
    pageToken: opts.pageToken ?? "",
    statuses: (opts.status ?? []).map((s) => enumValue(TransactionStatus, "--status", s)),
    kind: opts.kind === undefined ? 0 : enumValue(TransactionKind, "--kind", opts.kind),
    gidPrefix: opts.gidPrefix ?? "",
    createTimeStart: date("--since", opts.since),
    createTimeEnd: date("--until", opts.until),
  };
  const page = await call(opts, () => adminClient(opts).listTransactions(request));
  if (opts.json) return json(AdminServiceListTransactionsResponseSchema, page);
  let out = transactionTable(page.transactions);
  if (page.nextPageToken !== "") out += `(more: --page-token ${page.nextPageToken})\n`;
  return out;
}

export async function show(gid: string, opts: ServerOptions & OutputOptions): Promise<string> {
  const res = await call(opts, () => adminClient(opts).getTransaction({ gid }));
  if (opts.json) return json(AdminServiceGetTransactionResponseSchema, res);
  return transactionView(res.transaction!);
}

export async function forceStop(gid: string, opts: ServerOptions & OutputOptions): Promise<string> {
  const res = await call(opts, () => adminClient(opts).forceStop({ gid }));
  if (opts.json) return json(ForceStopResponseSchema, res);
  const t = res.transaction!;
  return `${t.gid}: ${statusName(t.status)} (${t.rollbackReason})\n`;
}

export async function retry(gid: string, opts: ServerOptions & OutputOptions): Promise<string> {
  const res = await call(opts, () => adminClient(opts).retryNow({ gid }));
  if (opts.json) return json(RetryNowResponseSchema, res);
  return `${res.transaction!.gid}: due now; the recovery worker takes it at its next poll\n`;
}

/** `dtx migrate [--check]`: applies pending migrations, or says whether some are pending (exit 1 if so). */
export async function migrate(opts: { check?: boolean; config?: string } & OutputOptions): Promise<string> {
  let config;
  try {
    config = loadConfig({ file: opts.config });
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message, EXIT.usage);
    throw err;
  }
  let store: Store;
  try {
    store = await Store.open({ ...config.store, migrate: false });
  } catch (err) {
    throw new CliError((err as Error).message, EXIT.failed);
  }
  try {
    const pending = await pendingMigrations(store.db);
    const names = pending.map((m) => `${m.version} ${m.name}`);
    if (opts.check) {
      const out = opts.json
        ? JSON.stringify({ pending: pending.length, migrations: pending }, null, 2) + "\n"
        : pending.length > 0
          ? `${pending.length} migrations pending: ${names.join(", ")}\n`
          : "migrations: current\n";
      if (pending.length > 0) throw new CliError("migrations pending: run dtx migrate", EXIT.failed, out);
      return out;
    }
    await store.close();
    store = await Store.open(config.store);
    if (opts.json) return JSON.stringify({ applied: pending.length, migrations: pending }, null, 2) + "\n";
    return pending.length === 0 ? "migrations: current, nothing to apply\n" : `applied ${names.join(", ")}\n`;
  } finally {
    await store.close();
  }
}
