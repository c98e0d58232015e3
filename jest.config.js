/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  transform: { "^.+\\.ts$": ["@swc/jest", { jsc: { target: "es2022" } }] },
  testTimeout: 30000,
  maxWorkers: 2,
  // At the end of a run a worker holds ~0.6-0.8 GB of heap (and PGlite's wasm memory) from the ~55
  // files it ran, and Node takes 0.4-0.7 s to free it after the worker's last handle closes; Jest's
  // default 500 ms then reports "failed to exit gracefully" with nothing left open. A handle that
  // really leaks keeps a worker alive past any wait, so it is still reported.
  workerGracefulExitTimeout: 2000,
  // on PGlite: initdb once into a template that each test database copies (test/support/pglite-template.ts)
  globalSetup: "<rootDir>/test/support/global-setup.ts",
  globalTeardown: "<rootDir>/test/support/global-teardown.ts",
};
