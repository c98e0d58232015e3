import { readFileSync } from "node:fs";
import { join } from "node:path";

/** The package version (`v0.1.0`), as `/api/dtmsvr/version` reports it. */
export function dtxVersion(): string {
  for (const dir of [join(__dirname, "..", ".."), join(__dirname, "..", "..", "..")]) {
    try {
      return `v${(JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { version: string }).version}`;
    } catch {
      // not this directory: compiled code sits one level deeper than the sources
    }
  }
  return "v0.0.0-dev";
}

/** The version of grpc-js serving gRPC (dtm's `grpc_version` label of `dtm_server_info`). */
export function grpcVersion(): string {
  try {
    const main = require.resolve("@grpc/grpc-js");
    const dir = main.slice(0, main.lastIndexOf("/build/"));
    return (JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { version: string }).version;
  } catch {
    return "";
  }
}
