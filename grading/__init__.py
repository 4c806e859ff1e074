"""The grader's oracles: reference implementations and small reference models.

This package answers graded questions, so it is the grader's alone:

- it is never copied into ``release/`` (:func:`instructor.course.vendor_helpers` copies
  only ``helpers/``, and ``tests/test_release.py`` fails if any release file holds a module
  or a public name of this package);
- the master notebooks import it only inside ``### BEGIN HIDDEN TESTS`` regions, which
  nbgrader strips from the student version and puts back when it autogrades;
- the grading sandbox mounts it read-only (:func:`instructor.sandbox.readonly_paths`), and
  the audit withholds the points of a submission whose own code imports it
  (:func:`instructor.audit.code_scan.tampering`).

One module per assignment: :mod:`grading.vae_cvae`, :mod:`grading.kl_annealing`,
:mod:`grading.fashion_vae`. The student kit (``helpers/``) holds only answer-free test
utilities and stand-ins.
"""
