import { readFileSync, existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const read = (rel) => readFileSync(ROOT + rel);
export const readJson = (rel) => JSON.parse(readFileSync(ROOT + rel, "utf8"));

/** The shared reference vectors: $SHARED_VECTORS, or ../shared/vectors beside the repository
 * (or beside the main worktree); null if none is there. */
export function sharedVectorsPath() {
  const candidates = [
    process.env.SHARED_VECTORS,
    ROOT + "../shared/vectors",
    ROOT + "../../shared/vectors",
  ].filter(Boolean);
  for (const dir of candidates) {
    if (existsSync(dir + "/poseidon2_babybear.json")) return dir + "/poseidon2_babybear.json";
  }
  return null;
}
