"""The publication format: what `prove` publishes, read forever by every verifier.

`encoding` (text forms and strict JSON), `statement` (the layout and statement.json, version
PUBLICATION_FORMAT), `write` (writing it), `check` (checking it in full, one batch at a time).
Everything else in the application uses these, and these use nothing above them."""
