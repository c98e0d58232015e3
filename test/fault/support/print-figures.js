// The fault suite's globalTeardown: prints the figures every scenario recorded, as one table.
require("../../support/ts-require.js");
const { figuresTable, takeFigures, FIGURES_FILE } = require("./figures.ts");

module.exports = async () => {
  const rows = takeFigures(FIGURES_FILE);
  process.stdout.write(`\nfault suite figures\n${figuresTable(rows)}\n`);
};
