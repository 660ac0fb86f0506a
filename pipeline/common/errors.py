"""The one error type for bad input: any library may raise it, the stage runner prints it as one line."""


class UserError(Exception):
    """Bad input that the user can fix; reported as one line naming the file and the problem."""
