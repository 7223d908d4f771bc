"""A LogUp range check with many looked-up values per row (logarithmic derivatives, Haböck
2022/1530), split into helper columns of `group` values each, so that every constraint has
degree at most group + 1 (GROUP = 3 and degree 4 by default; an AIR whose constraints reach
degree 7 anyway takes 6 per helper, half the extension columns, at no cost in degree).

Looked-up values v_1..v_m per row, a table column T (periodic) and a multiplicity column M
(how often T's value on that row occurs among all looked-up values). With the challenge alpha:

    helper g (values a, b, c):  h_g = 1/(alpha - a) + 1/(alpha - b) + 1/(alpha - c)
        constraint  h_g (alpha-a)(alpha-b)(alpha-c) - [(alpha-b)(alpha-c) + (alpha-a)(alpha-c)
                    + (alpha-a)(alpha-b)] = 0                                    (degree 4)
    running sum:  (sigma' - sigma - sum_g h_g)(alpha - T) + M = 0 on every row, cyclically
                                                                                 (degree 2)

Around the cycle sigma telescopes to 0, so sum_rows sum_i 1/(alpha - v_i) = sum_rows
M/(alpha - T): as rational functions in alpha this forces every v_i to be a table value, provided
the total number of lookups is below p (so multiplicities cannot wrap). The helper identity
needs every alpha - v nonzero, true except with probability (lookups)/|F| over alpha. The
grouping changes neither argument: a helper of any size is the sum of its values' inverses.
"""

from __future__ import annotations

import numpy as np

from stark.field import GF, ExtArray, P

GROUP = 3  # looked-up values per helper column: degree 1 + GROUP = 4
HELPERS_PER_BATCH = 16  # helper columns built per batched inversion (build_aux)


def num_helpers(num_values: int, group: int = GROUP) -> int:
    return -(-num_values // group)


def helper_constraints(alpha, values: list, helpers, group: int = GROUP) -> list:
    """One constraint per helper column, h prod_i d_i - sum_i prod_(k != i) d_k = 0 with
    d_i = alpha - v_i; `values` are the looked-up expressions on this row. The cofactors are
    prefix times suffix products: 3 group multiplications, not group^2."""
    out = []
    for g in range(num_helpers(len(values), group)):
        factors = [alpha - v for v in values[g * group : (g + 1) * group]]
        prefix = [None]  # prefix[i] = d_0 ... d_(i-1)
        for d in factors:
            prefix.append(d if prefix[-1] is None else prefix[-1] * d)
        suffix = None  # d_(i+1) ... d_(m-1), built from the right
        sum_of_cofactors = None
        for i in range(len(factors) - 1, -1, -1):
            parts = [p for p in (prefix[i], suffix) if p is not None]
            cofactor = parts[0] * parts[1] if len(parts) == 2 else parts[0] if parts else 1
            sum_of_cofactors = (
                cofactor if sum_of_cofactors is None else sum_of_cofactors + cofactor
            )
            suffix = factors[i] if suffix is None else factors[i] * suffix
        out.append(helpers[g] * prefix[-1] - sum_of_cofactors)
    return out


def running_sum_constraint(alpha, sigma, sigma_next, helpers, table, multiplicity):
    total = helpers[0]
    for h in helpers[1:]:
        total = total + h
    return (sigma_next - sigma - total) * (alpha - table) + multiplicity


def build_aux(
    alpha: ExtArray, values: GF, table: GF, multiplicity: GF, group: int = GROUP
) -> ExtArray:
    """The auxiliary columns (helpers, then sigma), shape (num_helpers + 1, n).

    values: (m, n) looked-up values; table, multiplicity: (n,).
    """
    m = values.shape[0]
    helpers = []
    # a few helpers' values at a time: one batched inversion each, and the memory of the
    # inversion's temporaries bounded by the batch, not by every looked-up value at once
    step = group * HELPERS_PER_BATCH
    for start in range(0, m, step):
        inverses = (alpha - values[start : start + step]).inverse()
        for g in range(0, min(step, m - start), group):
            helpers.append(inverses[g : g + group].sum(axis=0))
    per_row = helpers[0]
    for h in helpers[1:]:
        per_row = per_row + h
    step = per_row - (alpha - table).inverse() * multiplicity
    # sigma_0 = 0, sigma_{i+1} = sigma_i + step_i: an exclusive prefix sum (exact in uint64)
    coords = np.cumsum(np.asarray(step.coords, dtype=np.uint64), axis=1) % P
    sigma = np.zeros_like(coords)
    sigma[:, 1:] = coords[:, :-1]
    ext = alpha.field
    columns = [h.coords for h in helpers] + [GF(sigma)]
    return ExtArray(ext, GF(np.stack([np.asarray(c) for c in columns], axis=1)))


def multiplicities(values: np.ndarray, table_size: int, n: int) -> np.ndarray:
    """The multiplicity column: entry r counts how often r occurs among all looked-up values
    (rows past the table hold 0). Raises ValueError for a value outside the table."""
    flat = np.asarray(values, dtype=np.int64).reshape(-1)
    if flat.size and (flat.min() < 0 or flat.max() >= table_size):
        raise ValueError("a looked-up value lies outside the table")
    counts = np.zeros(n, dtype=np.int64)
    counts[:table_size] = np.bincount(flat, minlength=table_size)
    return counts


__all__ = [
    "GROUP",
    "build_aux",
    "helper_constraints",
    "multiplicities",
    "num_helpers",
    "running_sum_constraint",
]
