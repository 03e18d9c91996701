"""The project's one error type for bad input: a message a user can act on, never a traceback."""

from __future__ import annotations


class InputError(Exception):
    """Bad input: a malformed scenario, unknown key, value out of range, broken data file.

    Args:
        message: what is wrong and what was expected.
        file: the file at fault, if known.
        key: the key (or column) at fault, if known.
        line: the line number at fault, if known.
    """

    def __init__(self, message: str, *, file: str | None = None, key: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.key = key
        self.line = line

    def in_file(self, file: str, line: int | None = None) -> InputError:
        """Return this error with `file` (and `line`) attached, keeping any already set."""
        return InputError(self.message, file=self.file or file, key=self.key, line=self.line or line)

    def __str__(self) -> str:
        parts = [self.file] if self.file else []
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.key is not None and self.key not in self.message:
            parts.append(f"key '{self.key}'")
        text = f"{', '.join(parts)}: {self.message}" if parts else self.message
        return _printable(text)


def _printable(text: str) -> str:
    """Control characters (a newline or escape sequence from a file or path) shown escaped: the message stays one line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def decode_utf8(data: bytes, file: str) -> str:
    """Decode a file's bytes as UTF-8, or raise InputError naming the file and the line of the first bad byte."""
    if data.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte-order mark (some editors write one): not part of the text
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(f"not UTF-8 text (byte {data[exc.start]:#04x}: {exc.reason})", file=file, line=line) from None


class OptionError(ValueError):
    """A bad option of a command or library call (a count, date or choice out of range): one line, exit status 2."""
