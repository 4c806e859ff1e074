"""Benchmarks that print their figures (never asserted as timings in tests).

- :mod:`bench.training`       -- the seed course's training recipe against the notebook's
  (:mod:`bench.models`: the master's reference models, which it trains);
- :mod:`bench.grading`        -- grading time, its per-notebook floor, the least time the test
  suite's catalogue can take, parallel throughput and the sandbox's overhead;
- :mod:`bench.cell_times`     -- where a graded notebook's time goes, cell by cell;
- :mod:`bench.process_start`  -- the start of an nbgrader process;
- :mod:`bench.class_report`   -- writing the class report of a large class;
- :mod:`bench.slurm_overhead` -- a class graded through Slurm against local workers;
- :mod:`bench.device_tests`, :mod:`bench.gpu_check` -- the GPU checks.

Where the figures are recorded: docs/speed.md, docs/scaling-out.md, docs/class-report.md,
docs/grading-accuracy.md (the GPU checks)."""
