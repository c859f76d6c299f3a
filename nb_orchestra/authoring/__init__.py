"""Help while writing a flow: completion of a flow's text and of the magics' arguments, and the
documentation of a task type; pure functions the api hands to the front ends."""
