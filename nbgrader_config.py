"""nbgrader configuration of the VAE course (run nbgrader from this folder)."""
import os

c = get_config()  # noqa: F821 (provided by nbgrader)

ROOT = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.course_id = "vae-course"
c.CourseDirectory.root = ROOT
# $NBGRADER_DB_URL selects another gradebook, e.g. PostgreSQL for grading across machines.
c.CourseDirectory.db_url = os.environ.get("NBGRADER_DB_URL", f"sqlite:///{ROOT}/gradebook.db")
# "helpers": a submission's own copy of helpers/ is never used; grading imports the course's.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "data", ".DS_Store", "helpers"]

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# A graded notebook runs in seconds with the grading budget; a cell that takes longer is stuck.
c.ExecutePreprocessor.timeout = 300
c.Execute.timeout = 300
# Once every cell has run and its outputs are saved, stop the kernel at once: a graceful
# shutdown waits up to seconds for the kernel process to tidy up, per submission.
c.Execute.shutdown_kernel = "immediate"

# Feedback shows points, visible test output, the failing test's message (a hint when a
# hidden test failed) and the figures, but not the hidden test code (instructor/feedback.py).
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
    "instructor.feedback.HideHiddenTests",  # after the CSS header: it adds its own CSS
]
