/**
 * Bundles the admin page (web/, Preact with the generated stubs and @connectrpc/connect-web) with esbuild
 * into `dist/admin`: `app-<hash>.js` and `app-<hash>.css`, cacheable for good, and `index.html`, which
 * names them. Run by `npm run build`; tests call {@link buildAdminPage} with a directory of their own.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { build } from "esbuild";
import { packageRoot } from "../server/package-root";

/** Builds the page into `outdir` (emptied first). */
export async function buildAdminPage(outdir: string): Promise<void> {
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  const result = await build({
    entryPoints: { app: join(packageRoot(), "web", "main.tsx") },
    bundle: true,
    minify: true,
    format: "esm",
    target: ["es2020"],
    jsx: "automatic",
    jsxImportSource: "preact",
    entryNames: "[name]-[hash]",
    outdir,
    metafile: true,
    logLevel: "warning",
  });
  const outputs = Object.keys(result.metafile.outputs).map((f) => basename(f));
  const js = outputs.find((f) => f.endsWith(".js"))!;
  const css = outputs.find((f) => f.endsWith(".css"))!;
  writeFileSync(
    join(outdir, "index.html"),
    `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>dtx admin</title>
    <link rel="stylesheet" href="/admin/${css}" />
  </head>
  <body>
    <div id="app"></div>
    <script type="module" src="/admin/${js}"></script>
  </body>
</html>
`,
  );
}

if (require.main === module) {
  const outdir = join(packageRoot(), "dist", "admin");
  buildAdminPage(outdir).then(
    () => process.stdout.write(`wrote ${outdir}\n`),
    (err: unknown) => {
      process.stderr.write(`admin page: ${(err as Error).message}\n`);
      process.exitCode = 1;
    },
  );
}
