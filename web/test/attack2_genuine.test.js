// Attack 2 on the "genuine page" comparison (web/page/genuine.js) as a cheating exchange: an
// index.html other than the packaged page that a trusted copy would call "the same page". The
// packaged page (solvency/web/index.html, what `prove` publishes) is the trusted copy; its
// build digest is the one its #page-digest shows. Every forgery below is a page the exchange
// can write without a SHA-256 second preimage: each must be refused, the genuine page
// accepted (the control: the comparison is not simply always false).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";

import { read } from "./helpers.js";
import { isThisPage, digestOffset, DIGEST_MARK } from "../page/genuine.js";

const PAGE = new Uint8Array(read("solvency/web/index.html"));
const text = (bytes) => new TextDecoder().decode(bytes);
const bytes = (t) => new TextEncoder().encode(t);
const sha = (b) => createHash("sha256").update(b).digest("hex");
const AT = digestOffset(PAGE);
const DIGEST = text(PAGE.subarray(AT, AT + 64));
const ZEROS = "0".repeat(64);

/** The page with its digest field set to `field`. */
const withField = (page, at, field) => {
  const out = page.slice();
  out.set(bytes(field), at);
  return out;
};

test("the packaged page: one digest field, holding the SHA-256 of the page with it zeroed", () => {
  assert.ok(AT > 0);
  assert.equal(text(PAGE).split(DIGEST_MARK).length, 2, "the mark appears once");
  assert.equal(sha(withField(PAGE, AT, ZEROS)), DIGEST);
  assert.equal(isThisPage(PAGE, DIGEST), true);
});

test("forged pages are not the same page", () => {
  const page = text(PAGE);
  const fake = bytes(page.replace("It sends nothing anywhere", "It sends nothing anyhow."));
  const forgeries = {
    "a byte appended": bytes(page + "\n"),
    "the last byte cut": PAGE.subarray(0, PAGE.length - 1),
    "a byte changed, its digest recomputed": withField(fake, AT, sha(withField(fake, AT, ZEROS))),
    "the genuine mark and digest first, in a comment, then a fake page": bytes(
      `<!-- ${DIGEST_MARK}${DIGEST} -->` + text(fake),
    ),
    "the genuine page after a fake one's mark, digest and script": bytes(
      `<p ${DIGEST_MARK}${DIGEST}</p><script>/*always VALID*/</script>` + page,
    ),
    "the digest field zeroed (the page the digest is of)": withField(PAGE, AT, ZEROS),
    "the digest in upper case": withField(PAGE, AT, DIGEST.toUpperCase()),
    "the page as UTF-16": new Uint8Array(Buffer.from(page, "utf16le")),
    "the page with a BOM": bytes("\ufeff" + page),
    "the page with CRLF line ends": bytes(page.replaceAll("\n", "\r\n")),
  };
  for (const [name, forged] of Object.entries(forgeries)) {
    assert.equal(isThisPage(forged, DIGEST), false, name);
  }
});

test("a trusted copy's digest is what decides: another digest never matches the genuine page", () => {
  assert.equal(isThisPage(PAGE, ZEROS), false);
  assert.equal(isThisPage(PAGE, sha(PAGE)), false);
  assert.equal(isThisPage(new Uint8Array(0), DIGEST), false);
});
