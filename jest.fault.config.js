/**
 * The fault suite (`npm run test:fault`, run by .ci/run): coordinators killed with -9, Postgres
 * restarted, PGlite killed, a fuzz corpus — each file a scenario, run one at a time (they measure
 * takeover times), figures printed as a table at the end.
 * @type {import('jest').Config}
 */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test/fault"],
  testMatch: ["**/*.fault.ts"],
  transform: { "^.+\\.ts$": ["@swc/jest", { jsc: { target: "es2022" } }] },
  testTimeout: 120000,
  maxWorkers: 1,
  globalSetup: "<rootDir>/test/fault/support/clear-figures.js",
  globalTeardown: "<rootDir>/test/fault/support/print-figures.js",
};
