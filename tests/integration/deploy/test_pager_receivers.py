"""Real receivers, chosen without editing YAML (issue 13 §3).

``HOLDWATCH_PAGER`` (one or a comma list of log, slack, email, pagerduty, opsgenie) and
``HOLDWATCH_PAGER_WARNING`` pick the integrations; entrypoint.sh renders them from
deploy/alertmanager/receivers/*.yml; every credential is a file (a Docker secret) that
Alertmanager reads when it sends. All of this fails on the starting main, which had only the
webhook receivers.
"""

from __future__ import annotations

import email
import email.policy
import itertools
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import (
    ALERTMANAGER_DIR,
    COMPOSE_FILE,
    REPO_ROOT,
    Capture,
    SmtpCapture,
    http_json,
    render_alertmanager,
    require_binary,
    run,
    running_alertmanager,
    throwaway_tls,
)

RECEIVERS_DIR = ALERTMANAGER_DIR / "receivers"
PAGERS = ("log", "slack", "email", "pagerduty", "opsgenie")
INTEGRATION = {
    "log": "webhook_configs",
    "slack": "slack_configs",
    "email": "email_configs",
    "pagerduty": "pagerduty_configs",
    "opsgenie": "opsgenie_configs",
}
#: The credential file each receiver needs (the compose secret's name).
CREDENTIAL = {
    "slack": "holdwatch_slack_api_url",
    "email": "holdwatch_smtp_password",
    "pagerduty": "holdwatch_pagerduty_routing_key",
    "opsgenie": "holdwatch_opsgenie_api_key",
}
SECRET_VALUES = {
    "holdwatch_slack_api_url": "https://hooks.slack.example.org/services/T0/B0/s3cr3t-slack",
    "holdwatch_smtp_password": "s3cr3t-smtp",
    "holdwatch_pagerduty_routing_key": "s3cr3t-pagerduty-routing-key",
    "holdwatch_opsgenie_api_key": "s3cr3t-opsgenie-key",
}
EMAIL_SETTINGS = {
    "HOLDWATCH_EMAIL_TO": "oncall@example.org,legal@example.org",
    "HOLDWATCH_EMAIL_FROM": "holdwatch@example.org",
    "HOLDWATCH_SMTP_SMARTHOST": "smtp.example.org:587",
    "HOLDWATCH_SMTP_USERNAME": "holdwatch",
}
COMBINATIONS = [
    ",".join(c) for n in range(1, len(PAGERS) + 1) for c in itertools.combinations(PAGERS, n)
]


def _secrets(directory: Path, **override: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, value in {**SECRET_VALUES, **override}.items():
        (directory / name).write_text(
            value
        )  # no newline: see test_a_credential_file_with_a_newline
    return directory


def _render(tmp_path: Path, **env: str) -> tuple[Any, str, Any]:
    out = tmp_path / "rendered.yml"
    res = render_alertmanager(out, AM_TEMPLATES_DIR=str(ALERTMANAGER_DIR / "templates"), **env)
    text = out.read_text() if out.exists() else ""
    return res, text, yaml.safe_load(text) if text else None


def _receivers(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in config["receivers"]}


# ------------------------------------------------------------------ rendering


@pytest.mark.prometheus
@pytest.mark.parametrize("pager", COMBINATIONS)
def test_every_combination_renders_a_config_amtool_accepts(tmp_path: Path, pager: str) -> None:
    """Each selection, with its credentials present, becomes exactly those integrations on the
    critical and warning receivers; the Watchdog keeps its own webhook; no placeholder is left
    and no credential is copied into the config (only the files' paths are)."""
    amtool = require_binary("amtool")
    secrets = _secrets(tmp_path / "secrets")
    res, text, config = _render(
        tmp_path, HOLDWATCH_PAGER=pager, HOLDWATCH_SECRETS_DIR=str(secrets), **EMAIL_SETTINGS
    )
    assert res.returncode == 0, res.stderr
    check = run([amtool, "check-config", str(tmp_path / "rendered.yml")])
    assert check.returncode == 0, check.stdout + check.stderr
    assert "1 templates" in check.stdout  # templates/holdwatch.tmpl, parsed
    receivers = _receivers(config)
    wanted = {INTEGRATION[p] for p in pager.split(",")}
    for name in ("holdwatch-critical", "holdwatch-warning"):
        assert set(receivers[name]) - {"name"} == wanted, name
    assert receivers["holdwatch-watchdog"]["webhook_configs"] == [
        {"url": "http://alert-receiver:9095/watchdog", "send_resolved": False}
    ]
    assert "@" not in re.sub(r"[\w.-]+@example\.org", "", text), "placeholder left"
    for value in SECRET_VALUES.values():
        assert value not in text


@pytest.mark.prometheus
def test_warnings_can_go_elsewhere_than_pages(tmp_path: Path) -> None:
    """HOLDWATCH_PAGER=pagerduty,slack HOLDWATCH_PAGER_WARNING=slack: critical alerts page and
    post, a warning only posts; routing is unchanged."""
    amtool = require_binary("amtool")
    res, _, config = _render(
        tmp_path,
        HOLDWATCH_PAGER="pagerduty,slack",
        HOLDWATCH_PAGER_WARNING="slack",
        HOLDWATCH_SECRETS_DIR=str(_secrets(tmp_path / "secrets")),
    )
    assert res.returncode == 0, res.stderr
    receivers = _receivers(config)
    assert set(receivers["holdwatch-critical"]) == {"name", "pagerduty_configs", "slack_configs"}
    assert set(receivers["holdwatch-warning"]) == {"name", "slack_configs"}
    [pd] = receivers["holdwatch-critical"]["pagerduty_configs"]
    assert pd["severity"] == "critical"
    assert pd["routing_key_file"] == str(tmp_path / "secrets" / CREDENTIAL["pagerduty"])
    assert pd["url"] == "https://events.pagerduty.com/v2/enqueue"  # the default endpoint
    for labels, receiver in (
        (["alertname=HoldLimitExceeded", "severity=critical"], "holdwatch-critical"),
        (["alertname=ConsumerLagGrowing", "severity=warning"], "holdwatch-warning"),
    ):
        config_file = f"--config.file={tmp_path / 'rendered.yml'}"
        routes = run([amtool, "config", "routes", "test", config_file, *labels])
        assert routes.stdout.strip() == receiver


def test_repeated_and_spaced_names_are_one_receiver(tmp_path: Path) -> None:
    res, _, config = _render(
        tmp_path,
        HOLDWATCH_PAGER="slack, slack,log",
        HOLDWATCH_SECRETS_DIR=str(_secrets(tmp_path / "secrets")),
    )
    assert res.returncode == 0, res.stderr
    critical = _receivers(config)["holdwatch-critical"]
    assert list(critical) == ["name", "slack_configs", "webhook_configs"]
    assert len(critical["slack_configs"]) == 1


# ------------------------------------------------------------------ refusals, in one line


def _one_line_refusal(res: Any, tmp_path: Path) -> str:
    assert res.returncode == 64, res.stderr
    assert not (tmp_path / "rendered.yml").exists()
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    return str(lines[0])


@pytest.mark.parametrize("pager", sorted(CREDENTIAL))
@pytest.mark.parametrize("state", ["missing", "empty"])
def test_a_chosen_receiver_without_its_credential_stops_the_start(
    tmp_path: Path, pager: str, state: str
) -> None:
    """Alertmanager reads credential files only when it sends: without this check a missing
    secret would surface at the first page, as a failed notification."""
    secrets = _secrets(tmp_path / "secrets")
    name = CREDENTIAL[pager]
    if state == "missing":
        (secrets / name).unlink()
    else:
        (secrets / name).write_text("")
    res, _, _ = _render(
        tmp_path,
        HOLDWATCH_PAGER=f"log,{pager}",
        HOLDWATCH_SECRETS_DIR=str(secrets),
        **EMAIL_SETTINGS,
    )
    line = _one_line_refusal(res, tmp_path)
    assert f"receiver {pager} needs its credential in {secrets / name}" in line
    assert f"{name.upper()}_FILE" in line  # the compose variable naming the file on the host
    for value in SECRET_VALUES.values():
        assert value not in line


def test_a_receiver_not_chosen_needs_no_credential(tmp_path: Path) -> None:
    """The demo (log) starts with none of the pagers' secrets."""
    res, _, config = _render(tmp_path, HOLDWATCH_SECRETS_DIR=str(tmp_path / "nothing-here"))
    assert res.returncode == 0, res.stderr
    assert set(_receivers(config)["holdwatch-critical"]) == {"name", "webhook_configs"}


@pytest.mark.parametrize("missing", sorted(EMAIL_SETTINGS))
def test_email_without_a_setting_stops_the_start(tmp_path: Path, missing: str) -> None:
    settings = {**EMAIL_SETTINGS, missing: ""}
    res, _, _ = _render(
        tmp_path,
        HOLDWATCH_PAGER="email",
        HOLDWATCH_SECRETS_DIR=str(_secrets(tmp_path / "secrets")),
        **settings,
    )
    assert f"receiver email needs {missing}" in _one_line_refusal(res, tmp_path)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"HOLDWATCH_PAGER": "slack,teams"}, "HOLDWATCH_PAGER: unknown receiver 'teams'"),
        ({"HOLDWATCH_PAGER": "*"}, "HOLDWATCH_PAGER: unknown receiver '*'"),
        ({"HOLDWATCH_PAGER": ","}, "HOLDWATCH_PAGER names no receiver"),
        ({"HOLDWATCH_PAGER_WARNING": "Slack"}, "HOLDWATCH_PAGER_WARNING: unknown receiver"),
        ({"HOLDWATCH_PAGER": "pagerduty", "HOLDWATCH_PAGERDUTY_URL": "events.example"}, "http"),
        ({"HOLDWATCH_PAGER": "email", "HOLDWATCH_EMAIL_TO": 'a@b",x'}, "must not contain"),
    ],
)
def test_bad_settings_stop_the_start(tmp_path: Path, env: dict[str, str], message: str) -> None:
    res, _, _ = _render(
        tmp_path,
        HOLDWATCH_SECRETS_DIR=str(_secrets(tmp_path / "secrets")),
        **{**EMAIL_SETTINGS, **env},
    )
    line = _one_line_refusal(res, tmp_path)
    assert message in line
    if "unknown" in message:
        assert "choose from: email log opsgenie pagerduty slack" in line


@pytest.mark.parametrize("content", ["s3cr3t-opsgenie-key\n", "s3cr3t opsgenie-key"])
def test_a_credential_file_with_a_newline_or_space_is_refused(tmp_path: Path, content: str) -> None:
    """Found while testing delivery: Alertmanager 0.25 sends Opsgenie's api_key_file as it is,
    so `echo key > file` makes an invalid Authorization header and every page fails; the
    start refuses it instead, without echoing the secret."""
    secrets = _secrets(tmp_path / "secrets", holdwatch_opsgenie_api_key=content)
    res, _, _ = _render(tmp_path, HOLDWATCH_PAGER="opsgenie", HOLDWATCH_SECRETS_DIR=str(secrets))
    line = _one_line_refusal(res, tmp_path)
    assert "without a newline or spaces" in line and "s3cr3t" not in line


def test_the_slack_secret_must_hold_a_url(tmp_path: Path) -> None:
    """A token pasted instead of the webhook URL is caught at start, without echoing it."""
    secrets = _secrets(tmp_path / "secrets", holdwatch_slack_api_url="xoxb-not-a-url")
    res, _, _ = _render(tmp_path, HOLDWATCH_PAGER="slack", HOLDWATCH_SECRETS_DIR=str(secrets))
    line = _one_line_refusal(res, tmp_path)
    assert "must hold the webhook URL" in line and "xoxb" not in line


# ------------------------------------------------------------------ compose


def _compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())  # type: ignore[no-any-return]


def test_compose_mounts_every_credential_as_a_secret_that_defaults_to_an_empty_file() -> None:
    """Every credential a snippet reads is a compose secret of the alertmanager service, whose
    file the variable entrypoint.sh names chooses; unset, it is the committed empty file, so
    the demo starts without any (compose cannot mount a missing file)."""
    compose = _compose()
    service = compose["services"]["alertmanager"]
    placeholder = ALERTMANAGER_DIR / "secret-not-set"
    assert placeholder.is_file() and placeholder.stat().st_size == 0
    tracked = run(["git", "ls-files", "--error-unmatch", str(placeholder)], cwd=REPO_ROOT)
    assert tracked.returncode == 0, "secret-not-set must be committed"
    read = set()
    for snippet in RECEIVERS_DIR.glob("*.yml"):
        read |= set(re.findall(r'_file: "@SECRETS_DIR@/(\w+)"', snippet.read_text()))
    assert read == set(CREDENTIAL.values())
    assert set(service["secrets"]) == read
    for name in read:
        variable = f"{name.upper()}_FILE"
        assert compose["secrets"][name] == {
            "file": f"${{{variable}:-./deploy/alertmanager/secret-not-set}}"
        }
        # where docs/operations.md tells operators to keep it: git-ignored
        host = f"./deploy/secrets/{name.removeprefix('holdwatch_')}"
        assert run(["git", "check-ignore", "-q", host], cwd=REPO_ROOT).returncode == 0, host


def test_compose_passes_every_setting_the_receivers_read() -> None:
    env = _compose()["services"]["alertmanager"]["environment"]
    wanted = {"HOLDWATCH_PAGER", "HOLDWATCH_PAGER_WARNING", "HOLDWATCH_WEBHOOK_URL_WATCHDOG"}
    for snippet in RECEIVERS_DIR.glob("*.yml"):
        wanted |= set(re.findall(r"@(HOLDWATCH_\w+)@", snippet.read_text()))
    assert wanted <= set(env), wanted - set(env)
    assert env["HOLDWATCH_PAGER"] == "${HOLDWATCH_PAGER:-log}"  # the demo's default
    for name in wanted - {"HOLDWATCH_PAGER"}:
        assert env[name] == f"${{{name}:-}}"


def test_every_snippet_is_documented_in_the_entrypoint_and_compose() -> None:
    names = sorted(p.stem for p in RECEIVERS_DIR.glob("*.yml"))
    assert names == sorted(PAGERS)
    entrypoint = (ALERTMANAGER_DIR / "entrypoint.sh").read_text()
    for name in names:
        assert name in entrypoint.split("set -euf", 1)[0], f"{name} not in entrypoint.sh's header"


# ------------------------------------------------------------------ delivery, for real

#: What Prometheus sends for HoldLimitExceeded (labels and annotations as alerts.yml renders
#: them with HOLDWATCH_PUBLIC_URL=https://holdwatch.example.org).
PUBLIC_URL = "https://holdwatch.example.org"
DASHBOARD = f"{PUBLIC_URL}/grafana/d/holdwatch-hold-limit?var-jurisdiction=TX-Travis"
RUNBOOK = f"{PUBLIC_URL}/docs/operations.md#holdlimitexceeded"
HOLD_LIMIT_ALERT = {
    "labels": {
        "alertname": "HoldLimitExceeded",
        "severity": "critical",
        "category": "policy",
        "rule": "hold_limit_exceeded",
        "jurisdiction": "TX-Travis",
        "cluster": "holdwatch",
        "public_url": PUBLIC_URL,
    },
    "annotations": {
        "summary": "2 detainer hold(s) past the 48-hour limit in TX-Travis",
        "description": "2 person(s) in TX-Travis are held on an immigration detainer past the "
        "limit of 8 CFR 287.7(d).",
        "dashboard_url": DASHBOARD,
        "runbook_url": RUNBOOK,
    },
}


@pytest.mark.prometheus
def test_slack_pagerduty_and_opsgenie_receivers_deliver(tmp_path: Path, capture: Capture) -> None:
    """The real Alertmanager 0.25, on the config rendered for HOLDWATCH_PAGER=slack,pagerduty,
    opsgenie, with Slack's webhook URL (from its secret file), PagerDuty's `url` and Opsgenie's
    `api_url` pointing at a local server: one HoldLimitExceeded alert fired through the API
    arrives at all three, saying what is wrong and where to look, authenticated with the keys
    from the secret files."""
    secrets = _secrets(
        tmp_path / "secrets", holdwatch_slack_api_url=f"{capture.url}/slack/T0/B0/hook"
    )
    with running_alertmanager(
        tmp_path / "am",
        HOLDWATCH_PAGER="slack,pagerduty,opsgenie",
        HOLDWATCH_SECRETS_DIR=str(secrets),
        HOLDWATCH_PAGERDUTY_URL=f"{capture.url}/pagerduty/v2/enqueue",
        HOLDWATCH_OPSGENIE_API_URL=f"{capture.url}/opsgenie/",
        AM_TEMPLATES_DIR=str(ALERTMANAGER_DIR / "templates"),
    ) as alertmanager:
        http_json(f"{alertmanager}/api/v2/alerts", data=json.dumps([HOLD_LIMIT_ALERT]).encode())
        slack = capture.wait_for("/slack/T0/B0/hook")["body"]
        pagerduty = capture.wait_for("/pagerduty/v2/enqueue")["body"]
        opsgenie = capture.wait_for("/opsgenie/v2/alerts")

    [attachment] = slack["attachments"]
    assert attachment["title"] == "[FIRING:1] HoldLimitExceeded in TX-Travis"
    assert attachment["title_link"] == DASHBOARD
    assert attachment["color"] == "danger"
    text = attachment["text"]
    assert "2 detainer hold(s) past the 48-hour limit in TX-Travis" in text
    assert "Rule: hold_limit_exceeded | Severity: critical | Jurisdiction: TX-Travis" in text
    assert f"Dashboard: {DASHBOARD}" in text
    assert f"Runbook: {RUNBOOK}" in text

    assert pagerduty["routing_key"] == SECRET_VALUES["holdwatch_pagerduty_routing_key"]
    assert pagerduty["event_action"] == "trigger"
    assert pagerduty["payload"]["summary"] == "[FIRING:1] HoldLimitExceeded in TX-Travis"
    assert pagerduty["payload"]["severity"] == "critical"
    assert pagerduty["payload"]["source"] == "holdwatch"
    details = pagerduty["payload"]["custom_details"]
    assert details["jurisdiction"] == "TX-Travis" and details["rule"] == "hold_limit_exceeded"
    assert "2 detainer hold(s) past the 48-hour limit in TX-Travis" in details["text"]
    assert pagerduty["client_url"] == DASHBOARD
    assert {link["href"] for link in pagerduty["links"]} == {DASHBOARD, RUNBOOK}

    key = SECRET_VALUES["holdwatch_opsgenie_api_key"]
    assert opsgenie["headers"]["Authorization"] == f"GenieKey {key}"
    body = opsgenie["body"]
    assert body["message"] == "[FIRING:1] HoldLimitExceeded in TX-Travis"
    assert body["priority"] == "P1"
    assert body["details"]["dashboard"] == DASHBOARD
    assert body["details"]["runbook"] == RUNBOOK
    assert "Jurisdiction: TX-Travis" in body["description"]


@pytest.mark.prometheus
def test_email_receiver_delivers_over_starttls_with_the_password_from_its_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real Alertmanager 0.25, on the config rendered for HOLDWATCH_PAGER=email with only
    the smarthost pointing at a local SMTP relay: one HoldLimitExceeded fired through the API
    arrives as one mail, sent after STARTTLS (the relay refuses MAIL before it) and after AUTH
    with the username and the password from the secret file, to both addresses, saying what is
    wrong and where to look. The shipped snippet is not changed: STARTTLS stays required and
    the certificate is verified; Alertmanager trusts the test's throwaway CA through
    SSL_CERT_FILE, Go's standard override of the system roots (set only for this test's
    processes). Fails on the starting main, where e-mail was checked by amtool alone."""
    ca_file, tls_context = throwaway_tls(tmp_path / "tls")
    password = SECRET_VALUES["holdwatch_smtp_password"]
    smtp = SmtpCapture(tls_context, EMAIL_SETTINGS["HOLDWATCH_SMTP_USERNAME"], password)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    try:
        with running_alertmanager(
            tmp_path / "am",
            HOLDWATCH_PAGER="email",
            HOLDWATCH_SECRETS_DIR=str(_secrets(tmp_path / "secrets")),
            AM_TEMPLATES_DIR=str(ALERTMANAGER_DIR / "templates"),
            **{**EMAIL_SETTINGS, "HOLDWATCH_SMTP_SMARTHOST": smtp.smarthost},
        ) as alertmanager:
            http_json(f"{alertmanager}/api/v2/alerts", data=json.dumps([HOLD_LIMIT_ALERT]).encode())
            delivered = smtp.wait_for_message()
    finally:
        smtp.close()

    assert delivered["tls"] and delivered["authenticated"]
    assert [a["ok"] for a in smtp.auth_attempts] == [True]
    [auth] = smtp.auth_attempts
    assert auth["tls"]
    assert (auth["login"], auth["password"]) == ("holdwatch", password)
    assert delivered["mail_from"] == "holdwatch@example.org"
    assert sorted(delivered["rcpt_tos"]) == ["legal@example.org", "oncall@example.org"]

    mail = email.message_from_bytes(delivered["content"], policy=email.policy.default)
    assert mail["Subject"] == "[FIRING:1] HoldLimitExceeded in TX-Travis"
    assert mail["From"] == "holdwatch@example.org"
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    assert "2 detainer hold(s) past the 48-hour limit in TX-Travis" in text
    assert "Rule: hold_limit_exceeded | Severity: critical | Jurisdiction: TX-Travis" in text
    assert f"Dashboard: {DASHBOARD}" in text
    assert f"Runbook: {RUNBOOK}" in text


# ------------------------------------------------------------------ the container's shell


@pytest.mark.parametrize("pager", ["log", "slack,email,pagerduty,opsgenie,log", "opsgenie"])
def test_busybox_renders_what_this_shell_renders(tmp_path: Path, pager: str) -> None:
    """prom/alertmanager runs entrypoint.sh with busybox sh and busybox's grep, sed, sort, tr,
    wc: with only those on PATH it renders byte for byte what the tests' shell renders, and
    refuses what it refuses. Skipped without a busybox binary (Debian: apt-get download
    busybox; dpkg-deb -x; put its bin/ on PATH)."""
    busybox = shutil.which("busybox")
    if busybox is None:
        pytest.skip("no busybox binary on PATH")
    applets = tmp_path / "applets"
    applets.mkdir()
    for name in run([busybox, "--list"]).stdout.split():
        (applets / name).symlink_to(busybox)
    secrets = _secrets(tmp_path / "secrets")
    env = {
        "HOLDWATCH_PAGER": pager,
        "HOLDWATCH_PAGER_WARNING": "slack",
        "HOLDWATCH_SECRETS_DIR": str(secrets),
        "AM_TEMPLATES_DIR": str(ALERTMANAGER_DIR / "templates"),
        **EMAIL_SETTINGS,
    }
    expected = render_alertmanager(tmp_path / "sh.yml", **env)
    assert expected.returncode == 0, expected.stderr
    for case in ("ok", "refused"):
        if case == "refused":
            (secrets / "holdwatch_slack_api_url").write_text("not-a-url")
        res = run(
            [str(applets / "sh"), str(ALERTMANAGER_DIR / "entrypoint.sh"), "render"],
            env={
                "PATH": str(applets),
                "AM_CONFIG_TEMPLATE": str(ALERTMANAGER_DIR / "alertmanager.yml"),
                "AM_CONFIG_RENDERED": str(tmp_path / f"busybox-{case}.yml"),
                **env,
            },
        )
        if case == "ok":
            assert res.returncode == 0, res.stderr
            assert (tmp_path / "busybox-ok.yml").read_text() == (tmp_path / "sh.yml").read_text()
        else:
            assert res.returncode == 64, res.stderr
            assert "must hold the webhook URL" in res.stderr
