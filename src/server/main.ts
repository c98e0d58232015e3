import { failUnexpected, serve } from "./serve";

/**
 * `node dist/src/server/main.js [--config dtx.yaml | -c conf.yml] [--dtm-env]` (what `npm start` runs):
 * the coordinator, as `dtx serve` starts it. The file is dtx's YAML or dtm's (recognized by its
 * capitalized keys); `--dtm-env` also reads dtm's environment names.
 */
const argv = process.argv.slice(2);
if (argv.includes("--help") || argv.includes("-h")) {
  process.stdout.write(
    "usage: main.js [--config dtx.yaml | -c dtm-conf.yml] [--dtm-env]   (or: dtx serve --help)\n",
  );
} else {
  const i = argv.findIndex((a) => a === "--config" || a === "-c");
  serve({ config: i >= 0 ? argv[i + 1] : undefined, dtmEnv: argv.includes("--dtm-env") }).catch(
    failUnexpected,
  );
}
