"""Every UI string ships in Simplified Chinese: the catalogue has no gaps and no guesses."""
import re
from pathlib import Path

from django.conf import settings

CATALOGUE = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def entries(text: str):
    """(flags, msgid, msgstrs) of each entry after the header; multi-line strings joined."""
    for block in text.strip().split("\n\n")[1:]:
        lines = [line for line in block.splitlines() if not line.startswith("#~")]
        if not lines:
            continue
        flags = " ".join(line for line in lines if line.startswith("#,"))
        fields: dict[str, str] = {}
        current = None
        for line in lines:
            match = re.match(r'^(msgctxt|msgid|msgid_plural|msgstr(?:\[\d\])?) "(.*)"$', line)
            if match:
                current = match.group(1)
                fields[current] = match.group(2)
            elif line.startswith('"') and current:
                fields[current] += line[1:-1]
        if "msgid" in fields:
            yield flags, fields["msgid"], [v for k, v in fields.items() if k.startswith("msgstr")]


def test_the_chinese_catalogue_translates_every_string_and_has_no_fuzzy_guesses():
    text = CATALOGUE.read_text(encoding="utf-8")
    missing = [msgid for _flags, msgid, msgstrs in entries(text) if not all(msgstrs)]
    fuzzy = [msgid for flags, msgid, _ in entries(text) if "fuzzy" in flags]
    assert missing == [], f"untranslated (run makemessages, then translate): {missing[:10]}"
    assert fuzzy == [], f"fuzzy guesses to check: {fuzzy[:10]}"


def test_the_compiled_catalogue_carries_recent_translations():
    """The .mo is committed beside the .po; a stale one would show English in a Chinese UI."""
    from django.utils import translation

    assert CATALOGUE.with_suffix(".mo").exists()
    with translation.override("zh-hans"):
        assert translation.pgettext("timeline badge", "Order") == "订单"
        assert translation.gettext("Back-office queue") != "Back-office queue"
