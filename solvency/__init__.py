"""The application around the proved statements: snapshot and account loaders, publishing,
the synthetic generator, the command line and the benchmark. The statements themselves (the
solvency AIR and its gadgets) are in `circuits/`; the proof system is in `stark/`."""
