"""The one exception type that ends a trial with a message instead of a traceback."""


class TrialError(Exception):
    """The trial cannot run for a reason its user can fix (data, environment).

    The message is a single line for the trial's log: what failed, why, and what to do.
    Anything else that goes wrong is a bug and keeps its traceback.
    """
