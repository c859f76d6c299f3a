"""The records of a run, at the bottom of the package: states, Execution/TaskRun/Attempt/LogRecord
and the events the engine publishes about them. Everything above reads and writes these."""
