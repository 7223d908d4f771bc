// The publication's check as the page runs it: checkPublication (web/src/check.js), which
// checks the whole publication as `solvency verify` does, with the AIRs this page ships, plus
// what the page shows beside its verdict.
//
// The result has checkPublication's shape, { state, exit, line, detail, warnings, report,
// statement }, where report is what `solvency verify --json` prints (without seconds), plus
// reportText (that report as `verify --json` writes it: Python's json.dumps), statementBytes
// (statement.json's bytes, read once: the ones checked, fingerprinted and used for the
// inclusion check), fingerprint (their SHA-256) and published (the VALID report, which the
// page shows as a table), or null.
import { checkPublication } from "../src/check.js";
import { pyJsonText } from "../src/verdict.js";
import { publicationAir, publicationShape } from "../src/solvency_air.js";
import { aggregateAir } from "../src/aggregate_air.js";
import { sha256, toHex } from "../src/sha256.js";
import { STATEMENT } from "./files.js";

/** The AIRs a publication's proofs are checked against, built from its statement. */
export const AIRS = {
  batch: publicationAir,
  batchShape: publicationShape,
  aggregate: (statement) => aggregateAir(statement),
};

/** Check the publication in `files` ({ read(path) }); progress(fraction, phase). */
export async function checkFiles(files, options, progress) {
  const bytes = await files.read(STATEMENT);
  const once = { where: files.where, read: (path) => (path === STATEMENT ? bytes : files.read(path)) };
  const result = await checkPublication(once, { ...options, airs: AIRS }, progress);
  return {
    ...result,
    reportText: pyJsonText(result.report),
    statementBytes: result.statement === null ? null : bytes,
    fingerprint: bytes === null ? null : toHex(sha256(bytes)),
    published: result.state === "valid" ? result.report : null,
  };
}
