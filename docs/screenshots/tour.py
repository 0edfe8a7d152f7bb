"""Screenshot tour of the admin at 1280 px in Bokmål, against a freshly seeded demo database.

    .venv/bin/python docs/screenshots/tour.py            # writes docs/screenshots/*.png
    .venv/bin/python docs/screenshots/tour.py --width 1920 --out /tmp/shots --language en

Builds a throw-away demo (SQLite and the filesystem broker under a temporary DATA_DIR:
`migrate`, `seed_demo`, plus a few sync events, rejections and configuration changes so
every list has rows), serves it with `manage.py runserver` on a free loopback port and
walks every admin screen in headless Debian Chromium (CHROMIUM_PATH, default
/usr/bin/chromium). Each page is checked for horizontal scrolling; the script exits 1
naming the pages that scroll sideways.
"""

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent

# (file name, login, path or callable(page, base) -> path)
PAGES = [
    ("01-login", None, "/admin/login/"),
    ("02-index", "admin", "/admin/"),
    ("03-organizations", "admin", "/admin/organizations/organization/"),
    ("04-members", "admin", "/admin/organizations/member/"),
    ("05-member-search", "orgadmin", "/admin/organizations/member/?q=kari"),
    ("06-sync-log", "admin", "/admin/sync/inboundevent/"),
    ("07-sync-event-failed", "admin", "sync-event-failed"),
    ("08-portal-configs", "admin", "/admin/portal_integration/portalconfiguration/"),
    ("09-config-page", "orgadmin", "config-oslo"),
    ("10-config-errors", "orgadmin", "config-oslo-errors"),
    ("11-preview-draft", "orgadmin", "preview-draft"),
    ("12-onboarding-errors", "admin", "onboarding-errors"),
    ("13-checklist", "admin", "checklist"),
    ("14-webhook-sources", "admin", "/admin/webhooks/webhooksource/"),
    ("15-webhook-source", "admin", "webhook-source"),
    ("16-rejections", "admin", "/admin/webhooks/webhookrejection/"),
    ("17-health", "admin", "/admin/webhooks/webhooksource/health/"),
    ("18-periodic-tasks", "admin", "/admin/django_celery_beat/periodictask/"),
    ("19-tokens", "admin", "/admin/authtoken/tokenproxy/"),
    ("20-org-admin-403", "orgadmin", "/admin/webhooks/webhooksource/"),
    ("21-org-admin-404", "orgadmin", "config-bergen"),
    ("22-enrollments", "admin", "/admin/organizations/courseenrollment/"),
    ("23-platform-template", "admin", "/admin/portal_integration/platformtemplate/"),
]

EXTRA_SEED = """
import uuid
from datetime import timedelta
from django.utils import timezone
from organizations.models import Organization, Member
from portal_integration.services import FeatureSetting, portal_configuration_update
from sync.models import InboundEvent
from webhooks.models import WebhookRejection

oslo = Organization.objects.get(slug="hlf-oslo")
bergen = Organization.objects.get(slug="hlf-bergen")
kari = Member.objects.get(organization=oslo, first_name="Kari")
now = timezone.now()
if not InboundEvent.objects.exists():
    # Outcomes as the sync stores them: codes, rendered in the reader's language.
    from organizations.messages import field_name, message, role

    subject = message("sync.subject.member", id=kari.portal_member_id)
    roles = [role(r) for r in ("member", "peer_mentor", "coordinator", "org_admin")]
    rows = [
        (oslo, "member.updated", "succeeded",
         message("sync.updated", subject=subject,
                 fields=[field_name("email"), field_name("phone")]), 1.4),
        (oslo, "enrollment.created", "succeeded",
         message("sync.enrollment_created",
                 subject=message("sync.subject.enrollment", id="e-1"),
                 course="Likepersonkurs", status="enrolled"), 0.8),
        (oslo, "member.updated", "failed",
         message("sync.role_invalid", subject=subject, value="'boss'", choices=roles), 2.1),
        (oslo, "member.created", "pending", "", None),
        (bergen, "member.updated", "succeeded", message("sync.no_change", subject=subject), 61.0),
    ]
    for index, (org, kind, status, outcome, lag) in enumerate(rows):
        received = now - timedelta(minutes=30 - index)
        InboundEvent.objects.create(
            organization=org, source_identifier=org.slug,
            webhook_id=f"msg_{uuid.uuid4().hex}", event_type=kind,
            payload_format="envelope", payload={"type": kind},
            normalized=[{"type": kind, "data": {"member_id": kari.portal_member_id}}],
            received_at=received, occurred_at=received - timedelta(seconds=1),
            status=status, outcome=outcome, attempts=1 if status != "pending" else 0,
            started_at=received if lag else None,
            finished_at=received + timedelta(seconds=lag) if lag else None,
            subject_ids=kari.portal_member_id if org == oslo else "",
        )
    for reason, code in (("invalid_signature", 401), ("unknown_source", 401)):
        WebhookRejection.objects.create(
            reason=reason, status_code=code, source_identifier="hlf-oslo",
            client_address="127.0.0.1", body_size=512, detail="", headers={},
        )
    admin_user = __import__("django.contrib.auth", fromlist=["get_user_model"]).get_user_model()
    user = admin_user.objects.get(username="orgadmin")
    portal_configuration_update(
        organization=oslo,
        changes={"expense_claims": FeatureSetting(owner="portal")},
        user=user,
    )
"""


# How far the page, or a box inside it (Django puts lists in a scrolling box), scrolls sideways.
SIDEWAYS_SCROLL = """() => {
  const root = document.documentElement;
  let worst = root.scrollWidth - root.clientWidth;
  for (const element of document.querySelectorAll("body *")) {
    const overflow = getComputedStyle(element).overflowX;
    if ((overflow === "auto" || overflow === "scroll") && element.clientWidth > 0) {
      worst = Math.max(worst, element.scrollWidth - element.clientWidth);
    }
  }
  return worst;
}"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def manage(env, *args, stdin: str | None = None) -> None:
    subprocess.run(  # noqa: S603 -- our own manage.py
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=env,
        check=True,
        input=stdin,
        text=True,
        stdout=subprocess.DEVNULL,
    )


def wait_until_up(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)  # noqa: S310 -- loopback only
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"the demo server did not answer at {url}")


def login(page, base: str, username: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", username)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base}/admin/")


def resolve(page, base: str, target: str) -> str:
    """Pages that need a click or an id first; returns the path to screenshot (or "")."""
    if target.startswith("/"):
        page.goto(base + target)
        return target
    if target in ("config-oslo", "config-oslo-errors", "preview-draft"):
        page.goto(f"{base}/admin/portal_integration/portalconfiguration/?q=oslo")
        page.click("#result_list tbody tr a")
        if target == "config-oslo-errors":
            page.fill(
                "input[name=link__contact_list]", "https://minside.hlf.no/kontakt?m={member_id"
            )
            page.check("input[name=owner__contact_list][value=portal]")
            page.fill("input[name=link__expense_claims]", "http://minside.hlf.no/utlegg")
            page.click("#pi-publish")
        if target == "preview-draft":
            page.check("input[name=owner__contact_list][value=portal]")
            page.fill(
                "input[name=link__contact_list]",
                "https://minside.hlf.no/kontakt?medlem={member_id}",
            )
            page.click("#pi-preview-draft")
            page.wait_for_selector("#pi-draft-preview")
        return ""
    if target == "config-bergen":
        page.goto(base + "/admin/portal_integration/portalconfiguration/2/change/")
        return ""
    if target == "sync-event-failed":
        page.goto(f"{base}/admin/sync/inboundevent/?status__exact=failed")
        page.click("#result_list tbody tr a")
        return ""
    if target in ("onboarding-errors", "checklist"):
        page.goto(f"{base}/admin/portal_integration/portalconfiguration/onboard/")
        if target == "onboarding-errors":
            page.fill("#id_slug", "HLF Tromsø")
            page.fill("#id_name", "HLF Oslo")
            page.fill("#id_secret", "whsec_<base64 key>")
            page.fill("#id_source_identifier", "hlf-oslo")
            page.fill("#id_portal_base_url", "http://minside.hlf.no/tromso")
        else:
            page.fill("#id_slug", "hlf-tromso")
            page.fill("#id_name", "HLF Tromsø")
            page.fill("#id_source_identifier", "hlf-tromso")
        page.click("#pi-onboard-form input[type=submit]")
        page.wait_for_load_state()
        return ""
    if target == "webhook-source":
        page.goto(f"{base}/admin/webhooks/webhooksource/?q=hlf-oslo")
        page.click("#result_list tbody tr a")
        return ""
    raise ValueError(target)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--language", default="nb", choices=["nb", "en"])
    parser.add_argument("--out", type=Path, default=OUT)
    arguments = parser.parse_args()
    from playwright.sync_api import sync_playwright

    data_dir = Path(tempfile.mkdtemp(prefix="minside-tour-"))
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "CELERY_BROKER_URL"}
    }
    env.update(DATA_DIR=str(data_dir), LANGUAGE_CODE=arguments.language, DEBUG="true")
    manage(env, "migrate", "--noinput")
    manage(env, "seed_demo")
    manage(env, "shell", stdin=EXTRA_SEED)
    port = free_port()
    server = subprocess.Popen(  # noqa: S603 -- our own manage.py
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    scrolling = []
    try:
        wait_until_up(f"{base}/healthz")
        arguments.out.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
                args=["--no-sandbox", "--disable-gpu"],
            )
            page = browser.new_page(
                viewport={"width": arguments.width, "height": 800},
                locale="nb-NO" if arguments.language == "nb" else "en-GB",
            )
            current_login = "?"
            for name, username, target in PAGES:
                if username != current_login:
                    if username is None:
                        page.context.clear_cookies()
                    else:
                        login(page, base, username)
                    current_login = username
                resolve(page, base, target)
                page.wait_for_load_state("networkidle")
                overflow = page.evaluate(SIDEWAYS_SCROLL)
                if overflow > 0:
                    scrolling.append(f"{name} ({overflow} px)")
                page.screenshot(path=str(arguments.out / f"{name}.png"), full_page=True)
                print(f"{name}: {page.url}" + (f"  SCROLLS {overflow}px" if overflow > 0 else ""))
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    if scrolling:
        print("horizontal scrolling on: " + ", ".join(scrolling), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
