// The fault suite's globalSetup: one figures file per run, shared with the test files through the environment.
const { rmSync } = require("node:fs");
const { tmpdir } = require("node:os");
const { join } = require("node:path");

module.exports = async () => {
  process.env.DTX_TEST_FAULT_FIGURES ??= join(tmpdir(), `dtx-fault-figures-${process.pid}.jsonl`);
  rmSync(process.env.DTX_TEST_FAULT_FIGURES, { force: true });
};
