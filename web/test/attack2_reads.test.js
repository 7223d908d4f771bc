// Attack 2 on the publication check as a cheating exchange: a server (or a folder) that answers
// other bytes when a file is read a second time. The page's check (page/publication.js's
// checkFiles, which calls check.js's checkPublication) must read each file once, and show,
// fingerprint and check inclusion against the bytes it checked: the second version of the
// statement (another issuer) and of the proofs (a byte flipped) must never reach the verdict,
// the report or the fingerprint. The control: the second version, read from the start, is
// INVALID, so a check that read it anywhere would differ.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { createHash } from "node:crypto";

import { ROOT } from "./helpers.js";
import { checkFiles } from "../page/publication.js";
import { checkInclusion } from "../src/inclusion.js";

function loadFolder(name) {
  const folder = `${ROOT}tests/golden/${name}`;
  const files = new Map();
  const walk = (dir, prefix) => {
    for (const entry of readdirSync(dir).sort()) {
      const path = `${dir}/${entry}`;
      if (statSync(path).isDirectory()) walk(path, `${prefix}${entry}/`);
      else files.set(`${prefix}${entry}`, new Uint8Array(readFileSync(path)));
    }
  };
  walk(folder, "");
  return files;
}

const sha = (bytes) => createHash("sha256").update(bytes).digest("hex");

/** The exchange's second version: the issuer renamed (same length), every proof's byte 300 flipped. */
function secondVersion(files) {
  const other = new Map(files);
  const text = new TextDecoder().decode(files.get("statement.json"));
  assert.ok(text.includes('"Golden Exchange"'));
  other.set("statement.json", new TextEncoder().encode(text.replace('"Golden Exchange"', '"Golden Exchangf"')));
  for (const [path, bytes] of files) {
    if (path.endsWith(".bin") && !path.endsWith("leaves.bin")) {
      const flipped = bytes.slice();
      flipped[300] ^= 1;
      other.set(path, flipped);
    }
  }
  return other;
}

/** A source answering `first` on a path's first read and `then` on every later one; counts reads. */
function twoFaced(first, then) {
  const reads = new Map();
  return {
    where: "a two-faced server",
    reads,
    async read(path) {
      const n = (reads.get(path) ?? 0) + 1;
      reads.set(path, n);
      const version = n === 1 ? first : then;
      return version.has(path) ? version.get(path) : null;
    },
  };
}

const OPTIONS = { minBits: 100, acceptConjectured: false };
const PUBLICATIONS = [
  ["publication-2/three-batches", "publication-2/three-batches-user-1299.json"],
  ["publication-1/one-batch", "publication-1/one-batch-user-0007.json"],
];

for (const [name, user] of PUBLICATIONS) {
  test(`${name}: every file read once; a second answer never reaches the verdict, report or fingerprint`, async () => {
    const genuine = loadFolder(name);
    const other = secondVersion(genuine);
    const control = await checkFiles(twoFaced(other, other), OPTIONS, () => {});
    assert.equal(control.state, "invalid", "the second version alone must be refused (the control)");

    const source = twoFaced(genuine, other);
    const result = await checkFiles(source, OPTIONS, () => {});
    assert.equal(result.state, "valid", result.line);
    for (const [path, n] of source.reads) assert.equal(n, 1, `${path} read ${n} times`);
    const statement = genuine.get("statement.json");
    assert.equal(result.fingerprint, sha(statement));
    assert.equal(result.report.statement_sha256, sha(statement));
    assert.deepEqual(result.statementBytes, statement);
    assert.equal(result.report.issuer, "Golden Exchange");
    assert.equal(result.statement.issuer, "Golden Exchange");
    // the page's inclusion check reads result.statementBytes: the checked statement
    const inclusion = readFileSync(`${ROOT}tests/golden/${user}`);
    assert.equal(checkInclusion(inclusion, result.statementBytes, null).exit, 0);
    assert.equal(checkInclusion(inclusion, other.get("statement.json"), null).exit, 1);
  });
}
