"""Turn pydantic validation errors into one-line messages that name file, row and field."""

from pydantic import ValidationError


def describe(error: ValidationError) -> str:
    """`field.sub[2]: message (+N more)` for the first error of a ValidationError."""
    errors = error.errors()
    first = errors[0]
    location = ""
    for part in first["loc"]:
        if isinstance(part, int):
            location += f"[{part}]"
        else:
            location += f".{part}" if location else str(part)
    message = first["msg"]
    text = f"{location}: {message}" if location else message
    if len(errors) > 1:
        text += f" (+{len(errors) - 1} more)"
    return text
