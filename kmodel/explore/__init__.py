"""`kmodel explore`: a local web app to step through a model with what-if faults.

The session logic (`paths`, `session`, `reach`, `exercise`) knows nothing of HTTP;
`server` serves it, with the page in `static/` (plain HTML, CSS and JavaScript).
"""
