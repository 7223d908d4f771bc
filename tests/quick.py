"""One small parameter set for tests across the packages: the fast preset with cheap grinding
and FRI layers even for small traces."""

from dataclasses import replace

from stark.params import PRESETS

QUICK = replace(
    PRESETS["fast"], grinding_bits=4, aux_grinding_bits=2, folding_factor=4, remainder_max_len=16
)
