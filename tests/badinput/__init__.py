"""The bad-input catalogue (docs/reliability.md): each case ends in one line or a counted skip."""
import re


def error_line(result, prog: str) -> str:
    """A failed command's one error line (what follows `<prog>: error: `), after checking that it exited with
    status 2 and printed no traceback; a progress bar may precede it."""
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    (line,) = re.findall(rf"{re.escape(prog)}: error: (.*)", result.stderr)
    return line
