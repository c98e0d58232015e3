/**
 * The SDK as a consumer gets it: `require("dtx/client")` through package.json's `exports`, from the
 * build output of src/client alone (which proves it needs none of the coordinator's code), with its
 * type declarations, submitting a saga to a real coordinator from another process.
 */
import { execFile } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { BranchServices } from "../support/branch-services";
import { TestCoordinator } from "../support/coordinator";

const run = promisify(execFile);
const repo = join(__dirname, "..", "..");
const tsc = join(repo, "node_modules", "typescript", "bin", "tsc");
const pkg = JSON.parse(readFileSync(join(repo, "package.json"), "utf8"));

let consumer: string;
let installed: string;
let dtx: TestCoordinator;
let rm: BranchServices;

beforeAll(async () => {
  consumer = mkdtempSync(join(tmpdir(), "dtx-consumer-"));
  installed = join(consumer, "node_modules", "dtx");
  mkdirSync(installed, { recursive: true });
  // the package's dependencies, as an install would put them beside it
  for (const dep of readdirSync(join(repo, "node_modules"))) {
    if (!dep.startsWith("."))
      symlinkSync(join(repo, "node_modules", dep), join(consumer, "node_modules", dep));
  }
  cpSync(join(repo, "package.json"), join(installed, "package.json"));
  // build src/client (and what it imports) with the build's own settings, into the installed package
  const config = join(consumer, "tsconfig.sdk.json");
  writeFileSync(
    config,
    JSON.stringify({
      extends: join(repo, "tsconfig.build.json"),
      compilerOptions: { outDir: join(installed, "dist"), rootDir: repo, sourceMap: false },
      files: [join(repo, "src", "client", "index.ts")],
      include: [],
    }),
  );
  await run(process.execPath, [tsc, "-p", config]);
  [dtx, rm] = await Promise.all([TestCoordinator.start(), BranchServices.start()]);
}, 120_000);
afterAll(async () => {
  await rm?.close();
  await dtx?.close();
  if (consumer) rmSync(consumer, { recursive: true, force: true });
});

test("package.json exports dtx/client from the build output, with its types; the package stays private", () => {
  expect(pkg.private).toBe(true);
  expect(pkg.exports["./client"]).toEqual({
    types: "./dist/src/client/index.d.ts",
    default: "./dist/src/client/index.js",
  });
  expect(existsSync(join(installed, "dist", "src", "client", "index.js"))).toBe(true);
  expect(existsSync(join(installed, "dist", "src", "client", "index.d.ts"))).toBe(true);
  // only the SDK and the generated dtm contract were compiled: nothing of the coordinator is needed
  expect(readdirSync(join(installed, "dist", "src"))).toEqual(["client"]);
  expect(readdirSync(join(installed, "dist"))).toEqual(["gen", "src"]);
});

test('require("dtx/client") in another process submits a saga to a real coordinator', async () => {
  const script = `
    const sdk = require("dtx/client");
    const dtx = sdk.Coordinator.http(process.argv[1]);
    dtx.saga({ gid: "pkg-export-saga", waitResult: true })
      .add(process.argv[2], "", { user: "alice", amount: 30 })
      .submit()
      .then((gid) => console.log(JSON.stringify({ gid, resolved: require.resolve("dtx/client"), exports: Object.keys(sdk).sort() })))
      .finally(() => dtx.close());`;
  const { stdout } = await run(process.execPath, ["-e", script, dtx.base, rm.url("PkgOut")], {
    cwd: consumer,
  });
  const out = JSON.parse(stdout);
  expect(out.gid).toBe("pkg-export-saga");
  expect(out.resolved).toBe(join(installed, "dist", "src", "client", "index.js"));
  expect(out.exports).toEqual(
    expect.arrayContaining(["Coordinator", "Saga", "Tcc", "Msg", "Barrier", "httpBranch", "connectBranch"]),
  );
  expect(await dtx.status("pkg-export-saga")).toBe("succeed");
  expect(rm.callsTo("PkgOut").map((c) => JSON.parse(c.body.toString()))).toEqual([
    { user: "alice", amount: 30 },
  ]);
});

test("a TypeScript consumer type-checks against the declarations the export points to", async () => {
  writeFileSync(
    join(consumer, "consumer.ts"),
    `import { Coordinator, type SagaOptions } from "dtx/client";
     const options: SagaOptions = { waitResult: true, timeoutToFail: "1m", retryInterval: 10_000 };
     export const saga = Coordinator.http("http://localhost:36789").saga(options).add("http://a/b", "", { x: 1 });
     // @ts-expect-error a duration needs a unit
     export const bad: SagaOptions = { timeoutToFail: "1 minute" };\n`,
  );
  writeFileSync(
    join(consumer, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        module: "nodenext",
        moduleResolution: "nodenext",
        strict: true,
        noEmit: true,
        types: ["node"],
      },
      files: ["consumer.ts"],
    }),
  );
  await expect(
    run(process.execPath, [tsc, "-p", join(consumer, "tsconfig.json")], { cwd: consumer }),
  ).resolves.toBeDefined();
  // a cold tsc takes over 30 s on a loaded 2-core machine
}, 120_000);
