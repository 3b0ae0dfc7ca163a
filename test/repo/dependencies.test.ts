/**
 * The installed dependency tree is consistent: every peer dependency is satisfied (ink's reconciler
 * needs react ^19.2.0; react 19.0.9 made `npm install` warn) and nothing is missing or extraneous.
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { expect, test } from "vitest";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

test("npm ls finds no invalid, missing or unmet peer dependencies", () => {
  const r = spawnSync("npm", ["ls", "--all", "--json"], { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
  const tree = JSON.parse(r.stdout) as { problems?: string[] };
  expect(tree.problems ?? []).toEqual([]);
  expect(r.status).toBe(0);
});
