"""The reproducers' own simulation script needs statsmodels and command-line arguments: it is a tool to
run by hand (see its README), not a test module, so pytest's --doctest-modules must not import it."""

collect_ignore = ["cliff_interval_unequal_spread/coverage_spread.py"]
