"""Benchmarks that print their figures (never asserted as timings in tests): training
recipes side by side (:mod:`bench.training`), grading time, its floor, parallel throughput
and the sandbox's overhead (:mod:`bench.grading`), and the GPU check (:mod:`bench.device_tests`)."""
