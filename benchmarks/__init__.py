"""Speed and memory benchmarks, run by hand (never as timed unit tests)."""
