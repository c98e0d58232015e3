import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";

/**
 * The directory of dtx's package.json: two levels above this file in the sources (src/server), three
 * in the build (dist/src/server). Files the build makes (dist/admin) are found from there.
 */
export function packageRoot(): string {
  for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, "package.json");
    if (existsSync(file) && (JSON.parse(readFileSync(file, "utf8")) as { name?: string }).name === "dtx")
      return dir;
  }
  throw new Error(`no package.json of dtx above ${__dirname}`);
}
