"""What every page's top bar needs."""


def unread_notices(request) -> dict:
    """How many notices wait for the user: one count on the inbox index, only when logged in."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    def count() -> int:
        return user.notices.filter(read_at__isnull=True).count()

    return {"unread_notice_count": count}  # a callable: templates that never show it never query
