"""A general STARK proof system over BabyBear: DEEP-ALI with FRI, SHA-256 commitments.

Entry points: `stark.prover.prove`, `stark.verifier.verify`, `stark.air.Air` (the interface a
statement implements), `stark.params.PRESETS`, `stark.security.estimate_security`.
This package knows nothing about solvency; `circuits/` builds on it.
"""
