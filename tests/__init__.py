"""The test suite (``make test``; ``make test-browser`` for JupyterLab in Chromium), and the
corpora only the tests use: hostile submissions (:mod:`tests.hostile`) and the tampering
scan's legitimate and hostile constructs (:mod:`tests.scan_corpus`)."""
