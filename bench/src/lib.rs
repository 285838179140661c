//! krs benchmarks: each binary under src/bin prints its figures.
