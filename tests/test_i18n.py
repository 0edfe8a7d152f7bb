"""Norwegian Bokmål is complete and compiled, the admin speaks it, and admins can switch."""

import gettext
import os
import re
import shutil
import subprocess
from pathlib import Path

import django
import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext as gettext_
from django.utils.translation import ngettext

from portal_integration.models import PortalConfiguration
from tests.conftest import PASSWORD
from tests.portal_integration.conftest import hand_to_portal
from tests.support.servers import IN_CI

CATALOG_DIR = Path(django_settings.BASE_DIR) / "locale" / "nb" / "LC_MESSAGES"
PO_PATH = CATALOG_DIR / "django.po"
MO_PATH = CATALOG_DIR / "django.mo"
# Placeholders and markup that a translation must carry over unchanged.
PLACEHOLDER = re.compile(r"%\(\w+\)[-#0 +]*[\d.]*[sdrf]|%%|\{\w+\}|<[^>]+>")
EMPTIED_FIELD = re.compile(r"\{(\d+):\.0\}")
LINK = "https://minside.hlf.no/kurs?medlem={member_id}&org={organization}&lang={locale}"


def _unquote(line: str) -> str:
    body = line.strip()[1:-1]
    escapes = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}
    return re.sub(r"\\(.)", lambda m: escapes[m.group(1)], body)


def _po_entries(path: Path) -> list[dict]:
    """A tiny .po reader: flags, msgid(_plural) and msgstr(s) per entry, header included."""
    entries, entry, key = [], {}, None
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if not line.strip():
            if "msgid" in entry:
                entries.append(entry)
            entry, key = {}, None
        elif line.startswith("#,"):
            entry.setdefault("flags", set()).update(f.strip() for f in line[2:].split(","))
        elif line.startswith("#~"):
            entry["obsolete"] = True
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            entry[key] += _unquote(line)
        else:
            key, _, value = line.partition(" ")
            entry[key] = _unquote(value)
    return entries


def _messages() -> list[dict]:
    return [e for e in _po_entries(PO_PATH) if e["msgid"] and not e.get("obsolete")]


def _translations(entry: dict) -> list[str]:
    if "msgid_plural" in entry:
        return [entry["msgstr[0]"], entry["msgstr[1]"]]
    return [entry["msgstr"]]


@pytest.fixture
def norwegian(settings):
    """Norwegian as the site default (as in production), instead of the suite's English."""
    settings.LANGUAGE_CODE = "nb"
    with translation.override("nb"):
        yield


def _login(client: Client, user) -> Client:
    assert client.login(username=user.username, password=PASSWORD)
    return client


# --- the catalogue -----------------------------------------------------------------------


def test_po_has_no_untranslated_or_fuzzy_entries():
    entries = _po_entries(PO_PATH)
    header = entries[0]
    assert header["msgid"] == ""
    assert "Language: nb\\n" in header["msgstr"].replace("\n", "\\n")
    assert "nplurals=2; plural=(n != 1);" in header["msgstr"]
    messages = _messages()
    assert len(messages) > 300
    fuzzy = [e["msgid"] for e in entries if "fuzzy" in e.get("flags", set())]
    assert fuzzy == []
    untranslated = [e["msgid"] for e in messages if not all(_translations(e))]
    assert untranslated == []


def test_translations_keep_every_placeholder_and_tag():
    for entry in _messages():
        source = entry.get("msgid_plural", entry["msgid"])
        # The singular may drop the count ("Denne hendelsen"), like the English one does.
        target = _translations(entry)[-1]
        # `{1:.0}` keeps a positional field but prints nothing (an English plural "s").
        target = EMPTIED_FIELD.sub(r"{\1}", target)
        assert sorted(PLACEHOLDER.findall(target)) == sorted(PLACEHOLDER.findall(source)), source


def test_msgfmt_counts_every_message_as_translated():
    if shutil.which("msgfmt") is None:
        if IN_CI:
            pytest.fail("msgfmt is missing in CI")
        pytest.skip("msgfmt (gettext) is not installed")
    result = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", os.devnull, str(PO_PATH)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == f"{len(_messages())} translated messages."


def test_compiled_mo_matches_the_po():
    """The committed .mo is what Django loads (CI has no gettext): it must not be stale."""
    with MO_PATH.open("rb") as mo_file:
        compiled = gettext.GNUTranslations(mo_file)
    for entry in _messages():
        context = entry.get("msgctxt")
        if "msgid_plural" in entry:
            assert compiled.ngettext(entry["msgid"], entry["msgid_plural"], 1) == entry["msgstr[0]"]
            assert compiled.ngettext(entry["msgid"], entry["msgid_plural"], 2) == entry["msgstr[1]"]
        elif context:
            assert compiled.pgettext(context, entry["msgid"]) == entry["msgstr"], entry["msgid"]
        else:
            assert compiled.gettext(entry["msgid"]) == entry["msgstr"], entry["msgid"]


def test_plural_forms_follow_the_count(norwegian):
    def enabled(count):
        return ngettext("Enabled %(count)d source.", "Enabled %(count)d sources.", count) % {
            "count": count
        }

    assert enabled(1) == "Aktiverte 1 kilde."
    assert enabled(2) == "Aktiverte 2 kilder."
    assert enabled(0) == "Aktiverte 0 kilder."


# --- the admin in Norwegian ------------------------------------------------------------------


def test_login_page_is_norwegian_by_default(norwegian, client):
    body = client.get(reverse("admin:login")).content.decode()
    assert '<html lang="nb"' in body
    assert "Min Side-integrasjon" in body
    assert "Min Side integration" not in body
    assert "Brukernavn" in body  # Django's own catalogue, picked by the same language
    # An English-speaking admin can switch before logging in.
    assert 'id="language-switcher"' in body
    assert "Språk" in body


def test_admin_index_is_norwegian(norwegian, client, global_admin):
    body = _login(client, global_admin).get(reverse("admin:index")).content.decode()
    assert "Min Side-integrasjon" in body
    assert "Administrasjon" in body
    assert ">Medlemmer<" in body
    assert ">Organisasjoner<" in body
    assert "Synkroniseringslogg" in body
    assert ">Members<" not in body


def test_admin_follows_the_browser_language(client, global_admin):
    """Accept-Language picks the language when the admin has not chosen one."""
    _login(client, global_admin)
    body = client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="nb").content.decode()
    assert ">Medlemmer<" in body
    body = client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert ">Members<" in body


def test_preview_handoff_card_is_norwegian(norwegian, client, org_admin_a, org_a, member_a):
    hand_to_portal(org_a, "course_enrollment", LINK)
    configuration = PortalConfiguration.objects.get(organization=org_a)
    url = reverse("admin:portal_integration_portalconfiguration_preview", args=[configuration.pk])
    response = _login(client, org_admin_a).get(f"{url}?member={member_a.pk}&locale=nb")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Dette gjøres i Min Side" in body
    assert "Åpne Min Side" in body
    assert "Forhåndsvis som medlem" in body
    assert "This is done in Min Side" not in body


# --- the language switcher ---------------------------------------------------------------------


def _switcher_form(body: str) -> str:
    match = re.search(r'<form id="language-switcher".*?</form>', body, re.S)
    assert match, "no language switcher on the page"
    return match.group(0)


def test_switcher_keeps_django_links_and_posts_to_setlang(norwegian, client, global_admin):
    body = _login(client, global_admin).get(reverse("admin:index")).content.decode()
    form = _switcher_form(body)
    assert f'action="{reverse("set_language")}"' in form
    assert 'method="post"' in form
    assert 'name="csrfmiddlewaretoken"' in form
    assert '<option value="en" lang="en">English</option>' in form
    assert 'value="nb" lang="nb" selected' in form
    assert ">Bytt</button>" in form
    # Django's own user links stay.
    assert 'id="logout-form"' in body
    assert "Endre passord" in body


def test_switching_to_english_makes_the_admin_english(norwegian, global_admin):
    client = Client(enforce_csrf_checks=True)
    _login(client, global_admin)
    index = reverse("admin:index")
    body = client.get(index).content.decode()
    assert ">Medlemmer<" in body
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', _switcher_form(body))

    response = client.post(
        reverse("set_language"),
        {"language": "en", "next": index, "csrfmiddlewaretoken": token.group(1)},
    )
    assert response.status_code == 302
    assert response["Location"] == index
    body = client.get(index).content.decode()
    assert ">Members<" in body
    assert "Min Side integration" in body
    assert ">Medlemmer<" not in body

    # And back: the choice sticks until changed.
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', _switcher_form(body))
    client.post(
        reverse("set_language"),
        {"language": "nb", "next": index, "csrfmiddlewaretoken": token.group(1)},
    )
    assert ">Medlemmer<" in client.get(index).content.decode()


def test_switching_without_csrf_token_is_refused(norwegian, global_admin):
    client = Client(enforce_csrf_checks=True)
    _login(client, global_admin)
    response = client.post(reverse("set_language"), {"language": "en", "next": "/admin/"})
    assert response.status_code == 403
    assert ">Medlemmer<" in client.get(reverse("admin:index")).content.decode()


# --- every string the admin shows, third-party apps included ---------------------------

SITE_PACKAGES = Path(django.__file__).resolve().parent.parent
# Django's own English catalogues: every template and Python string of the admin it ships.
DJANGO_CATALOGUES = [
    Path(django.__file__).resolve().parent / "contrib" / app / "locale/en/LC_MESSAGES/django.po"
    for app in ("admin", "auth", "contenttypes")
]
# The same in Bokmål, or not words at all.
SAME_IN_BOKMAL = {
    "%(class_name)s %(instance)s",
    "salt",
    "hash",
    "Exchange",
    "ID",
    "id",
    "URL",
    "e-mail",
    "status",
    "Webhooks",
    "Min Side",
    "Dataverse RemoteExecutionContext",
}


def _shown(value) -> bool:
    return bool(value) and str(value) not in SAME_IN_BOKMAL


def _admin_strings() -> set:
    """What the registered admin screens show: app and model names, field labels and
    help texts, choices, actions, fieldset titles and form labels (lazy strings kept)."""
    from django.contrib import admin

    strings = set()
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        strings |= {opts.verbose_name, opts.verbose_name_plural, opts.app_config.verbose_name}
        for field in opts.get_fields():
            strings |= {getattr(field, "verbose_name", None), getattr(field, "help_text", None)}
            for _value, label in getattr(field, "flatchoices", None) or []:
                strings.add(label)
        for action in [*(model_admin.actions or ()), *admin.site._actions.values()]:
            function = getattr(model_admin, action, None) if isinstance(action, str) else action
            strings.add(getattr(function, "short_description", None))
        for title, _options in model_admin.fieldsets or ():
            strings.add(title)
        for form_field in getattr(model_admin.form, "base_fields", {}).values():
            strings |= {form_field.label, form_field.help_text}
    # Lazy strings are the ones meant to be translated (time-zone names etc. are data).
    return {value for value in strings if isinstance(value, Promise) and _shown(value)}


def _column_labels_untranslated() -> list[str]:
    """List columns and filters by their label, in English and Bokmål: the same text in
    both means nobody can translate it (plain strings, labels derived from names)."""
    from django.contrib import admin
    from django.contrib.admin.utils import label_for_field

    missing = []
    for model, model_admin in admin.site._registry.items():
        names = [n for n in (model_admin.list_display or ()) if isinstance(n, str)]
        names += [n for n in (model_admin.list_filter or ()) if isinstance(n, str)]
        for name in names:
            if name in {"__str__", "action_checkbox"}:
                continue
            try:
                with translation.override("en"):
                    english = str(label_for_field(name, model, model_admin))
                with translation.override("nb"):
                    bokmal = str(label_for_field(name, model, model_admin))
            except AttributeError:
                continue
            if english == bokmal and english not in SAME_IN_BOKMAL:
                missing.append(f"{model._meta.label}.{name}: {english}")
    return sorted(missing)


def _untranslated(values) -> list[str]:
    missing = []
    for value in values:
        with translation.override("en"):
            english = str(value)
        with translation.override("nb"):
            bokmal = str(value)
        if english == bokmal and english not in SAME_IN_BOKMAL:
            missing.append(english)
    return sorted(missing)


def test_every_admin_screen_label_has_a_bokmal_translation(db):
    """Models, fields, choices and actions of every registered admin screen, including
    django-celery-beat's periodic tasks, DRF's tokens and Django's users and groups."""
    strings = _admin_strings()
    labels = {str(value) for value in strings}
    # The check sees the third-party apps' screens.
    assert {"Periodic Tasks", "periodic tasks", "Auth Token", "crontabs"} <= labels
    assert _untranslated(strings) == []
    assert _column_labels_untranslated() == []


def test_django_admin_templates_have_bokmal_for_every_string():
    """Django's own admin strings ("Start typing to filter…", "Show counts", …)."""
    missing = []
    with translation.override("nb"):
        for catalogue in DJANGO_CATALOGUES:
            for entry in _po_entries(catalogue):
                msgid, context = entry["msgid"], entry.get("msgctxt")
                if not msgid or msgid in SAME_IN_BOKMAL:
                    continue
                if "msgid_plural" in entry:
                    shown = translation.ngettext(msgid, entry["msgid_plural"], 2)
                    if shown == entry["msgid_plural"]:
                        missing.append(msgid)
                elif (
                    translation.pgettext(context, msgid) if context else gettext_(msgid)
                ) == msgid:
                    missing.append(msgid)
    assert missing == []


def test_third_party_strings_read_right_in_bokmal(norwegian, client, global_admin):
    body = _login(client, global_admin).get(reverse("admin:index")).content.decode()
    assert "Periodiske oppgaver" in body
    assert "API-nøkler" in body
    assert "Auth Token" not in body and "AUTH TOKEN" not in body
    listing = client.get(reverse("admin:organizations_member_changelist")).content.decode()
    assert "Skriv for å filtrere" in listing
    assert "Legg til medlem" in listing
    assert "Legg til ny medlem" not in listing


def test_the_admin_javascript_strings_have_bokmal():
    """Date pickers and select widgets: Django's djangojs lacks some Bokmål; ours fills it."""
    from django.utils.translation.trans_real import DjangoTranslation

    admin_locale = Path(django.__file__).resolve().parent / "contrib" / "admin" / "locale"
    catalogue = DjangoTranslation("nb", domain="djangojs", localedirs=[str(admin_locale)])
    missing = []
    for entry in _po_entries(admin_locale / "en" / "LC_MESSAGES" / "djangojs.po"):
        msgid, context = entry["msgid"], entry.get("msgctxt")
        if not msgid:
            continue
        # Listed at all: "Filter" and "April" are the same words in Bokmål.
        key = f"{context}\x04{msgid}" if context else msgid
        if "msgid_plural" in entry:
            key = (key, 0)
        if key not in catalogue._catalog:
            missing.append(msgid)
    assert missing == []


def test_the_admin_javascript_catalogue_serves_them(norwegian, client, global_admin):
    body = _login(client, global_admin).get(reverse("admin:jsi18n")).content.decode()
    assert "Velg alle %s" in body
    assert "s\\u00f8ndag" in body or "søndag" in body


def test_compiled_djangojs_mo_matches_its_po():
    po_path, mo_path = CATALOG_DIR / "djangojs.po", CATALOG_DIR / "djangojs.mo"
    with mo_path.open("rb") as mo_file:
        compiled = gettext.GNUTranslations(mo_file)
    entries = [e for e in _po_entries(po_path) if e["msgid"]]
    assert entries
    for entry in entries:
        context = entry.get("msgctxt")
        if "msgid_plural" in entry:
            assert compiled.ngettext(entry["msgid"], entry["msgid_plural"], 2) == entry["msgstr[1]"]
        elif context:
            assert compiled.pgettext(context, entry["msgid"]) == entry["msgstr"]
        else:
            assert compiled.gettext(entry["msgid"]) == entry["msgstr"]
