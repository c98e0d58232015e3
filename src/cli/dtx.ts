#!/usr/bin/env node
/**
 * The `dtx` command line: `dtx serve` starts the coordinator; `list`, `show`, `force-stop` and `retry`
 * talk to a running one over the native admin API (`--server`, `--token`); `migrate` and `doctor` work
 * on this machine's configuration and store. Tables at a terminal, `--json` for scripts.
 *
 * Exit codes: 0 ok, 1 failed, 2 usage, 3 not found.
 */
import { Command, CommanderError, Option } from "commander";
import { dtxVersion } from "../server/version";
import { failUnexpected, serve } from "../server/serve";
import { forceStop, list, migrate, retry, show } from "./commands";
import { doctor } from "./doctor";
import { CliError, EXIT } from "./exit";
import { table } from "./render";

const EXIT_CODES = `
Exit codes: 0 ok, 1 failed, 2 usage, 3 not found.`;

/** Runs a command's action: prints what it returns, or its one-line error with its exit code. */
function run(action: () => Promise<string>): Promise<void> {
  return action().then(
    (out) => {
      process.stdout.write(out);
    },
    (err: unknown) => {
      if (!(err instanceof CliError)) throw err;
      process.stdout.write(err.stdout);
      process.stderr.write(`dtx: ${err.message}\n`);
      process.exitCode = err.exitCode;
    },
  );
}

/** The options every command talking to a running coordinator takes. */
function remote(cmd: Command): Command {
  return cmd
    .addOption(
      new Option("--server <url>", "the coordinator's URL").env("DTX_URL").default("http://127.0.0.1:36789"),
    )
    .addOption(new Option("--token <token>", "an admin token (admin.token)").env("DTX_ADMIN_TOKEN"))
    .option("--json", "print JSON (the admin API's) instead of a table");
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(",")];
}

export function program(): Command {
  const dtx = new Command("dtx")
    .description("dtx, a distributed transaction coordinator wire-compatible with dtm")
    .version(dtxVersion())
    .addHelpText("after", EXIT_CODES)
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(`dtx: ${text.replace(/^error: /, "")}`) });

  dtx
    .command("serve")
    .description("start the coordinator (until SIGTERM or SIGINT)")
    .option("-c, --config <file>", "a dtx YAML file, or dtm's conf.yml (recognized by its capitalized keys)")
    .option("--dtm-env", "also read dtm's environment names (STORE_DRIVER, HTTP_PORT, …)")
    .action((opts: { config?: string; dtmEnv?: boolean }) => serve(opts).catch(failUnexpected));

  dtx
    .command("migrate")
    .description("apply pending store migrations; --check only says whether some are pending (exit 1 if so)")
    .option("--check", "apply nothing; exit 1 when migrations are pending")
    .option("-c, --config <file>", "a dtx YAML file")
    .option("--json", "print JSON")
    .action((opts: { check?: boolean; config?: string; json?: boolean }) => run(() => migrate(opts)));

  remote(dtx.command("list"))
    .description("list transactions, newest first")
    .option(
      "--status <status>",
      "only these statuses (repeat or comma-separate): submitted, aborting, …",
      collect,
    )
    .option("--kind <kind>", "only this kind: saga, tcc, xa, msg, workflow")
    .option("--gid-prefix <prefix>", "only gids starting with this")
    .option("--since <time>", "created at or after this time (ISO 8601)")
    .option("--until <time>", "created at or before this time (ISO 8601)")
    .option("--limit <n>", "at most this many (default 100)")
    .option("--page-token <token>", "the next page, as the previous one printed it")
    .action((opts) => run(() => list(opts)));

  remote(dtx.command("show").argument("<gid>"))
    .description("one transaction: its branch tree with statuses, attempts and last answers")
    .action((gid: string, opts) => run(() => show(gid, opts)));

  remote(dtx.command("force-stop").argument("<gid>"))
    .description("fail an unfinished transaction at once: no branch is called afterwards")
    .action((gid: string, opts) => run(() => forceStop(gid, opts)));

  remote(dtx.command("retry").argument("<gid>"))
    .description("make an unfinished transaction due now, whatever its backoff had reached")
    .action((gid: string, opts) => run(() => retry(gid, opts)));

  dtx
    .command("doctor")
    .description("check the configuration, the store, migrations, Postgres settings, the clock and the ports")
    .option("-c, --config <file>", "a dtx YAML file, or dtm's conf.yml")
    .option("--dtm-env", "also read dtm's environment names")
    .option("--json", "print JSON")
    .action((opts: { config?: string; dtmEnv?: boolean; json?: boolean }) =>
      run(async () => {
        const checks = await doctor(opts);
        const out = opts.json
          ? JSON.stringify({ ok: checks.every((c) => c.status !== "fail"), checks }, null, 2) + "\n"
          : table(
              ["CHECK", "STATUS", "DETAIL"],
              checks.map((c) => [c.check, c.status, c.detail]),
            );
        const failed = checks.filter((c) => c.status === "fail").length;
        if (failed > 0) throw new CliError(`${failed} check(s) failed`, EXIT.failed, out);
        return out;
      }),
    );
  return dtx;
}

if (require.main === module) {
  // a reader that stops early (`dtx list | head -1`) closes the pipe: stop quietly, as Unix tools do
  process.stdout.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code !== "EPIPE") throw err;
    process.exit();
  });
  program()
    .parseAsync(process.argv)
    .catch((err: unknown) => {
      if (err instanceof CommanderError) {
        process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
        return;
      }
      process.stderr.write(`dtx: ${(err as Error).message ?? String(err)}\n`);
      process.exitCode = EXIT.failed;
    });
}
