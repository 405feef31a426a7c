"""Tools around the algorithm: benchmarks (`bench_*`), seeds and grids on Ray (`sweep`), and
learning curves (`plot`). The library's core reads config -> envs -> networks -> noise ->
buffer -> learner -> trainer -> checkpoint -> export -> runtime without them."""
