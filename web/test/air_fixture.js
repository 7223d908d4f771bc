// Shared by the solvency AIR tests: a statement of the fixtures (tests/web/trace_air.py's
// statement_json) as statement.js reads statement.json (BigInt amounts, tiers { upTo, percent }).
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
  };
}
