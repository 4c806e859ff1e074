"""The audit of graded submissions: what went wrong with each, one line per finding.

- :mod:`instructor.audit.code_scan` -- reading student code for tampering with the tests
  and for reaching outside the sandbox;
- :mod:`instructor.audit.incidents` -- the audit after ``nbgrader autograde`` (notebook,
  intake repairs, the kernel's fate, the code scan), the incident report, and what it
  writes into the gradebook (points withheld for review, *not graded*).
"""
