"""``make release``: regenerate ``release/<assignment>/`` from ``source/`` with nbgrader."""
from __future__ import annotations

import sys

from instructor.course import Course, assignment_names


def main(argv: list[str]) -> int:
    course = Course()
    for assignment in argv or assignment_names():
        out = course.release(assignment)
        print(f"released {assignment} -> {out.relative_to(course.root)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
