"""Small helpers every browser page uses: role checks, page numbers, HTMX requests."""
from django.core.exceptions import PermissionDenied


def require(request, *permissions: str, any_of: bool = False) -> None:
    """403 unless the user holds all the permissions (or, with ``any_of``, at least one)."""
    held = (request.user.has_perm(p) for p in permissions)
    if not (any(held) if any_of else all(held)):
        raise PermissionDenied


def page_number(params, name: str = "page") -> int:
    """The page asked for in ``params`` (a QueryDict); anything odd is page 1, never an error."""
    raw = params.get(name, "1")
    return int(raw) if raw.isdigit() and 0 < len(raw) < 6 else 1


def is_htmx(request) -> bool:
    return bool(request.headers.get("HX-Request"))


def put_errors_on(form, exc) -> None:
    """A service's ValidationError onto the form: named fields where the form has them, the rest on top."""
    if hasattr(exc, "error_dict"):
        for field, messages in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, messages)
    else:
        form.add_error(None, exc.messages)
