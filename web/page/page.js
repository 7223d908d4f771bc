// The page (docs/browser-verifier.md, section 3): loads a publication from its own folder when
// served over http(s), or from a folder the user chooses or drops; shows the check's verdict
// and report; checks a customer's inclusion file against the publication's statement. Nothing
// is written, stored or sent: the only requests are the publication's own files.
import { checkInclusion, plainAmount } from "../src/inclusion.js";
import { sha256, toHex } from "../src/sha256.js";
import { withCommas } from "../src/pytext.js";
import { servedFiles, folderFiles, pickedPairs, pickedName, droppedPairs } from "./files.js";
import { checkFiles } from "./publication.js";
import { isThisPage } from "./genuine.js";

const $ = (id) => document.getElementById(id);

/**
 * The publication last chosen: its files, and the result of its check once it ends. A check
 * that ends after another has started shows nothing: only the last folder chosen is shown.
 */
let loaded = null;

/** The text of an element, made from untrusted text only through textContent. */
function say(id, text) {
  $(id).textContent = text;
}

function element(tag, text) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  return node;
}

function showProgress(fraction, phase) {
  $("progress").value = Math.round(Math.min(1, Math.max(0, fraction)) * 1000);
  say("phase", phase);
}

/**
 * The options, as `verify`'s: --accept-conjectured-security, and --min-security from 100 to
 * 1000 (another value is put back to 100 in the field, so that what is used is what shows).
 */
function options() {
  let bits = Number($("min-security").value);
  if (!Number.isFinite(bits) || bits < 100 || bits > 1000) {
    bits = 100;
    $("min-security").value = "100";
  }
  return { acceptConjectured: $("accept-conjectured").checked, minBits: bits };
}

/** Check the publication in `files` and show the result. */
async function verify(files) {
  const mine = { files, result: null, seconds: 0 };
  loaded = mine;
  const current = () => loaded === mine;
  $("verify-again").disabled = true;
  $("inclusion-file").disabled = true;
  resetInclusion("Load the publication first, then give your file.");
  $("verdict").dataset.state = "running";
  say("verdict", "checking…");
  $("detail").hidden = true;
  $("report").hidden = true;
  $("fingerprint-line").hidden = true;
  $("report-json").textContent = "";
  say("source", `The publication in ${files.where}`);
  const start = performance.now();
  let result;
  try {
    result = await checkFiles(files, options(), (f, phase) => current() && showProgress(f, phase));
  } catch (e) {
    result = failure(e);
  }
  if (!current()) return null; // another folder was chosen meanwhile: its check shows
  mine.result = result;
  mine.seconds = (performance.now() - start) / 1000;
  await showPublishedPage(files);
  if (!current()) return null;
  $("verify-again").disabled = false;
  if (result.statement !== null) {
    $("inclusion-file").disabled = false;
    resetInclusion("Give your inclusion file.");
  }
  if (result.state === "unreadable") $("chooser").hidden = false; // choose the folder instead
  showResult(result); // the verdict's state last: once it is set, the page is settled
  return result;
}

/** A check that could not run to its end (a file the server refused, a bug): unreadable. */
function failure(error) {
  return {
    state: "unreadable", exit: 2, line: `error: ${error.message}`, detail: null, warnings: [],
    report: null, reportText: null, statement: null, statementBytes: null, fingerprint: null,
    published: null,
  };
}

function showResult(result) {
  if (result.detail) {
    say("detail", result.detail); // "detail: ..."
    $("detail").hidden = false;
  }
  if (result.published !== null) showReport(result.published);
  if (result.fingerprint !== null) {
    say("fingerprint", result.fingerprint);
    $("fingerprint-line").hidden = false;
  }
  if (result.report !== null) $("report-json").textContent = result.reportText;
  say("verdict", result.line);
  $("verdict").dataset.state = result.state;
}

/** The VALID report (verify --json's): who, when, the assets table, the security, the warnings. */
function showReport(report) {
  const batches = report.batches === 1 ? "" : ` in ${report.batches} batches`;
  say("identity", `Liabilities of ${report.issuer} as of ${report.as_of}, ${report.users_padded.toLocaleString("en-US")} users (padded)${batches}, prices in ${report.quote}:`);
  const gross = report.assets.some((a) => "equity" in a);
  const head = ["asset", `price (${report.quote})`, ...(gross ? ["equity", "debt"] : []), "total owed to users", ...(gross ? ["collateral counted"] : [])];
  const row = (cells, tag) => {
    const tr = element("tr");
    for (const cell of cells) tr.append(element(tag, cell));
    return tr;
  };
  const rows = report.assets.map((a) => row([a.symbol, a.price, ...(gross ? [a.equity, a.debt, a.total, haircutText(a.haircut)] : [a.total])], "td"));
  if (gross) for (const r of rows) r.lastChild.className = "words"; // the haircut in words
  $("assets").tHead.replaceChildren(row(head, "th"));
  $("assets").tBodies[0].replaceChildren(...rows);
  const security = report.security;
  say("security", `security, recomputed from the proof's parameters (${report.preset} preset): ${security.provable_bits} bits provable (unique decoding), ${security.conjectured_bits} bits conjectured; required: ${security.min_bits} ${security.regime_required} bits`);
  $("warnings").replaceChildren(...report.warnings.map((w) => element("li", `WARNING: ${w}`)));
  $("report").hidden = false;
}

/** A haircut table (statement.json's JSON) in words, as `verify` prints it: "100% to 10, 90% to 100, then 50%", or "100%". */
function haircutText(table) {
  if (!Array.isArray(table)) return "100%";
  const steps = table.slice(0, -1).map((t) => `${t.percent}% to ${withCommas(t.up_to)}`);
  return [...steps, `${steps.length ? "then " : ""}${table[table.length - 1].percent}%`].join(", ");
}

/**
 * The index.html published with these files: its SHA-256 (to compare with `solvency page
 * --print-sha256`) and whether it is byte for byte this page (genuine.js).
 */
async function showPublishedPage(files) {
  let bytes = null;
  try {
    bytes = await files.read("index.html");
  } catch {
    bytes = null;
  }
  say("published-page", bytes === null ? "none found" : `SHA-256 ${toHex(sha256(bytes))}`);
  const same = bytes !== null && isThisPage(bytes, $("page-digest").textContent);
  $("published-same").dataset.same = bytes === null ? "absent" : String(same);
  say("published-same", bytes === null ? "" : same ? "(the same page as this one)" : "(NOT the same page as this one)");
}

function resetInclusion(text) {
  $("inclusion-verdict").dataset.state = "idle";
  say("inclusion-verdict", text);
  $("inclusion-notes").replaceChildren();
  $("inclusion-balances").hidden = true;
}

/**
 * Check the customer's inclusion file (its bytes) against the loaded publication, as
 * `verify-inclusion FILE --published DIR` does: after a VALID check, with the time it took;
 * before the whole check exists (state "unverified"), as with --skip-proof, saying so.
 */
function checkCustomer(bytes) {
  const result = loaded?.result;
  const verdict = $("inclusion-verdict");
  resetInclusion("");
  if (!result || result.statement === null) {
    verdict.dataset.state = "unreadable";
    say("inclusion-verdict", "error: load the publication first: there is no statement to check the file against");
    return;
  }
  if (result.state === "invalid") {
    verdict.dataset.state = "not-included";
    say("inclusion-verdict", `NOT INCLUDED: the published proof is not valid: ${result.line.replace(/^INVALID: /, "")}`);
    return;
  }
  const id = $("user-id").value;
  const outcome = checkInclusion(bytes, result.statementBytes, id === "" ? null : id);
  verdict.dataset.state = ["included", "not-included", "unreadable"][outcome.exit];
  const verified = result.state === "valid" && outcome.exit === 0;
  say("inclusion-verdict", verified ? `${outcome.core} (proof verified in ${loaded.seconds.toFixed(2)} s)` : outcome.line);
  $("inclusion-notes").replaceChildren(...outcome.notes.map((n) => element("li", n)));
  if (outcome.exit === 0) showBalances(outcome.balances, result.statement, result.published);
}

function showBalances(balances, statement, report) {
  const rows = statement.symbols.map((symbol, j) => {
    const tr = element("tr");
    const total = report?.assets[j]?.total ?? plainAmount(statement.totals[j], statement.decimals[j]);
    tr.append(element("td", symbol), element("td", plainAmount(balances[j], statement.decimals[j])), element("td", total));
    return tr;
  });
  $("inclusion-balances").tBodies[0].replaceChildren(...rows);
  $("inclusion-balances").hidden = false;
}

/** The customer's file last given (its bytes), checked again when their id changes. */
let customerFile = null;

async function readInclusion(file) {
  customerFile = new Uint8Array(await file.arrayBuffer());
  checkCustomer(customerFile);
}

function dropZone(id, onDrop) {
  const zone = $(id);
  zone.addEventListener("dragover", (e) => {
    e.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    onDrop(e.dataTransfer);
  });
}

function showChooser(why) {
  $("chooser").hidden = false;
  $("verdict").dataset.state = "idle";
  say("verdict", why);
}

function start() {
  $("publication-folder").addEventListener("change", (e) => {
    const list = e.target.files;
    if (list.length) verify(folderFiles(pickedPairs(list), pickedName(list)));
  });
  dropZone("chooser", async (transfer) => {
    const { name, pairs } = await droppedPairs(transfer);
    verify(folderFiles(pairs, name));
  });
  $("inclusion-file").addEventListener("change", (e) => {
    if (e.target.files.length) readInclusion(e.target.files[0]);
  });
  dropZone("inclusion-drop", (transfer) => {
    if (transfer.files.length && !$("inclusion-file").disabled) readInclusion(transfer.files[0]);
  });
  $("verify-again").addEventListener("click", () => loaded && verify(loaded.files));
  $("user-id").addEventListener("change", () => customerFile && !$("inclusion-file").disabled && checkCustomer(customerFile));
  if (location.protocol === "http:" || location.protocol === "https:") {
    verify(servedFiles(new URL(".", location.href)));
  } else {
    showChooser("Choose the publication's folder above: opened from disk, the page cannot read the files beside it by itself.");
  }
}

start();
