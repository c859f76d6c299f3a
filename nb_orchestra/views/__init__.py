"""Pictures of an execution for people: plain text here; HTML and widgets in the notebook."""
