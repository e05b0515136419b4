"""Side-by-side comparisons: demos, benchmarks and the report (`python -m compare`)."""
