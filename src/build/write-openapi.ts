/**
 * `npm run build` step: writes docs/openapi.json, the OpenAPI 3.1 document of the REST API generated
 * from the protos' descriptors (the same one the server serves at /api/openapi.json).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { openApiDocument } from "../api/openapi";
import { dtxVersion } from "../server/version";
import { packageRoot } from "../server/package-root";

const file = join(packageRoot(), "docs", "openapi.json");
writeFileSync(file, JSON.stringify(openApiDocument(dtxVersion()), null, 2) + "\n");
process.stdout.write(`wrote ${file}\n`);
