"""A submitted form, read straight from its body when it is a plain urlencoded one.

Every page's form posts `application/x-www-form-urlencoded`, and a search is the service's hot
path: Starlette's parser (python-multipart's streaming state machine, a callback per field)
costs several times what splitting the body does. The fields come out exactly as Starlette's
parser gives them (split on "&", each at its first "=", each side decoded as Latin-1 and then
unquoted as UTF-8, empty chunks skipped); anything else (another content type, a field without
"=", more fields than Starlette allows, a body without a small declared length) goes to
Starlette's parser, which answers it as it always has.
"""

from urllib.parse import unquote_plus

from starlette.datastructures import FormData
from starlette.requests import Request

URLENCODED = "application/x-www-form-urlencoded"
MAX_FIELDS = 1000  # Starlette's limits: beyond them its parser refuses the form (400)
MAX_PART = 1024 * 1024


def _fields(body: bytes) -> list[tuple[str, str]] | None:
    """The body's fields, or None if it needs Starlette's parser."""
    fields = []
    for chunk in body.split(b"&"):
        if not chunk:
            continue
        name, equals, value = chunk.partition(b"=")
        if not equals:
            return None
        fields.append((unquote_plus(name.decode("latin-1")), unquote_plus(value.decode("latin-1"))))
    return fields if len(fields) <= MAX_FIELDS else None


async def read_form(request: Request) -> FormData:
    """The request's form: urlencoded bodies split here, any other through Starlette."""
    kind = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    length = request.headers.get("content-length", "")
    # read whole only when its declared length (which the server holds the body to) is small
    if kind == URLENCODED and length.isascii() and length.isdigit() and int(length) <= MAX_PART:
        fields = _fields(await request.body())
        if fields is not None:
            return FormData(fields)
    return await request.form()  # the body, if read above, is kept and read again
