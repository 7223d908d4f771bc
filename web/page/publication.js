// The publication's check as the page runs it, and what the page shows of it.
//
// The whole check (statement, leaves' roots, every STARK proof: checkPublication of
// web/src/check.js, docs/browser-verifier.md step 7) is not in this build yet. Until it is,
// the page reads statement.json as strictly as `solvency verify` does and shows it AS
// PUBLISHED, NOT VERIFIED: the verdict's state is then "unverified" and its line says so.
// The result has checkPublication's shape, { state, exit, line, detail, warnings, report,
// statement }, where report is what `solvency verify --json` prints (without seconds), plus
// what the page shows: reportText (the report as JSON text), statementBytes (statement.json's bytes, for the inclusion check),
// fingerprint (their SHA-256) and published (the statement as published, in the report's
// shape: issuer, as_of, quote, users_padded, batches, assets, preset, security, warnings).
import { readStatement, InputError, MAX_STATEMENT_BYTES } from "../src/statement.js";
import { loadJsonStrict } from "../src/json.js";
import { sha256, toHex } from "../src/sha256.js";
import { STATEMENT } from "./files.js";

export const NOT_VERIFIED =
  "NOT VERIFIED: this page does not verify the publication's STARK proofs yet; the " +
  "statement below is shown as published, and `solvency verify` is still needed";

/** Check the publication in `files` ({ read(path) }); progress(fraction, phase). */
export async function checkFiles(files, options, progress) {
  progress(0, `reading ${STATEMENT}`);
  const bytes = await files.read(STATEMENT);
  if (bytes === null) return unreadable(`${STATEMENT}: no such file`, null);
  const fingerprint = toHex(sha256(bytes));
  let statement;
  try {
    statement = readStatement(bytes);
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    return unreadable(e.message, fingerprint);
  }
  progress(1, "statement read; the proofs are not verified by this page yet");
  const published = publishedReport(loadJsonStrict(bytes, MAX_STATEMENT_BYTES, "statement"));
  return {
    state: "unverified", exit: null, line: NOT_VERIFIED, detail: null,
    warnings: published.warnings, report: null, reportText: null, statement,
    statementBytes: bytes, fingerprint, published,
  };
}

function unreadable(message, fingerprint) {
  const report = { verdict: "unreadable", reason: message };
  return {
    state: "unreadable", exit: 2, line: `error: ${message}`, detail: null, warnings: [],
    report, reportText: JSON.stringify(report), statement: null, statementBytes: null,
    fingerprint, published: null,
  };
}

/** A haircut table as read by json.js (a list of Maps, integers as BigInt), as plain JSON values. */
function plain(table) {
  if (!Array.isArray(table)) return null;
  return table.map((tier) => Object.fromEntries([...tier].map(([k, v]) => [k, typeof v === "bigint" ? Number(v) : v])));
}

/**
 * What statement.json says, in the shape of `solvency verify --json`'s report (the fields the
 * page shows), taken as written: nothing in it is recomputed here.
 */
export function publishedReport(document) {
  const assets = document.get("assets").map((a) => ({
    symbol: a.get("symbol"),
    price: a.get("price"),
    total: a.get("total"),
    ...(a.has("equity") ? { equity: a.get("equity"), debt: a.get("debt"), haircut: plain(a.get("haircut")) } : {}),
  }));
  const warnings = [];
  if (!assets.some((a) => "equity" in a)) warnings.push("this publication is format 1: it proves totals without equity, debt or haircut tables");
  if (document.get("insecure_seeded") === true) warnings.push("this proof was made with --insecure-seed (testing only): it does NOT hide user balances");
  return {
    issuer: document.get("issuer"),
    as_of: document.get("as_of"),
    quote: document.get("quote"),
    users_padded: Number(document.get("users_padded")),
    batches: document.get("batches").length,
    assets,
    preset: document.get("preset"),
    security: null,
    warnings,
  };
}
