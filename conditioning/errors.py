"""The one exception type a user sees: it names the file, the field and the fix."""


class DefectforgeError(Exception):
    """An error the user can act on. The CLI prints its message (no traceback) and exits 2."""
