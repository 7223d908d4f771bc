// Shared by the solvency AIR tests: a statement of the fixtures (tests/web/trace_air.py's
// statement_json) as solvency_air.js takes it (the fields of batchStatement: BigInt amounts,
// tiers { upTo, percent }), and a fixture case's AIR (its leaves, width, registers, commitment).
import { SolvencyAir } from "../src/solvency_air.js";

export function statementOf(d) {
  return {
    quote: d.quote,
    scale: BigInt(d.scale),
    symbols: d.symbols,
    decimals: d.decimals,
    prices: d.prices.map(BigInt),
    totals: d.totals.map(BigInt),
    issuer: d.issuer,
    asOf: d.as_of,
    insecureSeeded: d.insecure_seeded,
    equity: d.equity === null ? null : d.equity.map(BigInt),
    haircuts: d.haircuts.map((t) =>
      t === null
        ? null
        : t.map((tier) => ({ upTo: tier.up_to === null ? null : BigInt(tier.up_to), percent: tier.percent })),
    ),
    traceLen: d.trace_len,
    hiddenTotals: Boolean(d.hidden_totals),
    batch: d.batch ? { index: d.batch[0], count: d.batch[1], snapshot: d.batch[2] } : null,
  };
}

/** u32 words from little-endian hex (leaves.bin's encoding). */
export function wordsOfHex(hex) {
  const bytes = Buffer.from(hex, "hex");
  return new Uint32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
}

/** The options of `new SolvencyAir` for a case's "options" (tests/web/trace_air.py's case). */
export function airOptionsOf(o = {}) {
  const out = {};
  if (o.leaves_hex !== undefined) {
    out.leaves = wordsOfHex(o.leaves_hex);
    out.leafWidth = o.leaf_width;
  }
  if (o.sbox_registers !== undefined) out.sboxRegisters = o.sbox_registers;
  if (o.commitment !== undefined) out.totalsCommitment = o.commitment;
  return out;
}

export function airOf(c) {
  return new SolvencyAir(statementOf(c.statement), airOptionsOf(c.options));
}
