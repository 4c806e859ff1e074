"""Instructor-side machinery: releases, demo submissions, autograding and grade reports.

- :mod:`instructor.notebooks`  -- solution regions of a master notebook, and filling a
  release notebook with answers (to build reference, mutant and variant submissions);
- :mod:`instructor.course`     -- an nbgrader course directory driven through nbgrader's CLI;
- :mod:`instructor.report`     -- per-student, per-question tables and CSV;
- :mod:`instructor.demo`       -- ``make demo``: release, demo submissions, autograde, feedback.
"""
