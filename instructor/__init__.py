"""The instructor's side: the course commands, and the parts that grading is made of.

Commands (``python -m instructor.<name>``, wrapped by the Makefile):

- :mod:`instructor.release`   -- ``make release``: student versions and their kit;
- :mod:`instructor.autograde` -- ``make autograde``: a class in parallel, with the audit;
- :mod:`instructor.demo`      -- ``make demo``: release, demo submissions, autograde, feedback;
- :mod:`instructor.quality.grading_report` -- ``make grading-report``.

What grading is made of:

- :mod:`instructor.course`     -- an nbgrader course directory driven through nbgrader's CLI;
- :mod:`instructor.notebooks`  -- master notebooks: solution regions, the question map,
  filling a release with answers;
- :mod:`instructor.sandbox`    -- every grading kernel in bubblewrap (package);
- :mod:`instructor.preflight`  -- can a grading kernel import the course and read its data;
- :mod:`instructor.normalise`, :mod:`instructor.intake` -- nbgrader preprocessors that bring
  other editors' notebooks to nbformat 4.5 and repair a submission's structure;
- :mod:`instructor.audit`      -- what went wrong with each submission (package);
- :mod:`instructor.feedback`, :mod:`instructor.export`, :mod:`instructor.report` -- what
  students and the gradebook export get, and the per-question tables;
- :mod:`instructor.quality`    -- proof that grades are right: catalogue grading, generated
  mutants, the seed sweep (package);
- :mod:`instructor.names`      -- environment variables and error names shared across processes.
"""
