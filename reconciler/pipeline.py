"""load → validate → fetch → diff → check → Plan. The one function `plan` and `apply` call; the
clock and the environment come in as values, and nothing here prints."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from reconciler import emails
from reconciler.diff import diff, user_address
from reconciler.errors import AccessctlError, ConfigError, UsageError
from reconciler.findings import Finding, Location
from reconciler.live import LiveState
from reconciler.model import ApiConfig, DesiredOrg, api_url_problem, normalise_email
from reconciler.plan import (
    Caller,
    Change,
    OrgPlan,
    Plan,
    config_digest,
    live_fingerprint,
    sign,
)
from reconciler.prefetch import EarlyFetches, Target, fetch_early
from reconciler.safety import check, cross_org_roles
from reconciler.signing import plan_key

if TYPE_CHECKING:
    from reconciler.api import AccessApiClient
    from reconciler.config.peek import Head

API_URL_ENV = "ACCESSCTL_API_URL"

# Told `(organization, list path, items read so far)` after each list page of a fetch.
Progress = Callable[[str, str, int], None]


def client_for(
    api_url: str,
    token_env: str,
    environ: Mapping[str, str],
    *,
    organization: str = "",
    progress: Progress | None = None,
) -> AccessApiClient:
    """A client for the API at `api_url` with the token in `$token_env`, telling `progress`
    about each list page it reads, for `organization`."""
    from reconciler.api import client_from_env

    on_page = None
    if progress is not None:
        on_page = lambda path, count: progress(organization, path, count)  # noqa: E731
    return client_from_env(api_url, token_env, environ, on_page=on_page)


def open_client(
    organization: str,
    api: ApiConfig,
    environ: Mapping[str, str],
    api_url: str | None = None,
    *,
    progress: Progress | None = None,
) -> AccessApiClient:
    """A client for the organization whose config's `api` is given (see `api_target`)."""
    url, token_env = api_target(organization, api, environ, api_url)
    return client_for(url, token_env, environ, organization=organization, progress=progress)


def api_target(
    organization: str, api: ApiConfig, environ: Mapping[str, str], api_url: str | None = None
) -> tuple[str, str]:
    """(API URL, token variable) for the organization whose config's `api` is given: `api_url`
    (from `--api-url`) wins, see `resolve_url`; a config naming no token variable is refused."""
    url = resolve_url(api.url, environ, api_url)
    if not api.token_env:
        raise UsageError(
            f"{organization}: api.token_env is not set: name the environment "
            "variable that holds the API token"
        )
    return url, api.token_env


def open_plan_client(
    org_plan: OrgPlan,
    environ: Mapping[str, str],
    api_url: str | None = None,
    *,
    progress: Progress | None = None,
) -> AccessApiClient:
    """A client for a saved plan's organization (its API and token variable)."""
    if not org_plan.token_env:
        raise UsageError(f"{org_plan.organization}: the plan names no token environment variable")
    api = ApiConfig.model_construct(url=org_plan.api_url, token_env=org_plan.token_env)
    return open_client(org_plan.organization, api, environ, api_url, progress=progress)


def resolve_url(configured: str | None, environ: Mapping[str, str], api_url: str | None) -> str:
    """`--api-url`, then `$ACCESSCTL_API_URL`, then the config's `api.url`; an error names the
    one that is wrong (without repeating it: a URL may hold credentials)."""
    if api_url is not None and not api_url.strip():
        raise UsageError("--api-url is empty", hint="give the base URL, e.g. https://host/api/v1")
    for value, where in (
        (api_url, "--api-url"),
        (environ.get(API_URL_ENV), f"${API_URL_ENV}"),
        (configured, "api.url"),
    ):
        if value:
            problem = api_url_problem(value)
            if problem is not None:
                raise UsageError(
                    f"{where} {problem}",
                    hint="give the API's base URL, e.g. https://access.example.com/api/v1",
                )
            parts = urlsplit(value.strip())
            return urlunsplit(parts._replace(scheme=parts.scheme.lower()))
    raise UsageError(
        "no access API URL: set api.url in the config, or pass --api-url",
        hint=f"or export {API_URL_ENV}",
    )


def plan_org(
    desired: DesiredOrg,
    live: LiveState,
    *,
    force: bool = False,
    api_url: str | None = None,
    token_env: str | None = None,
    extra: Sequence[Finding] = (),
    today: date | None = None,
) -> OrgPlan:
    """The pure part: diff and safety for one organization. A token of another organization
    stops here: a diff against the wrong organization would only bury the reason. `today`
    decides whose access has ended (see `diff`)."""
    if desired.config.organization != live.organization.name:
        changes: list[Change] = []
        findings: list[Finding] = []
        violations = [f for f in check(desired, live, []) if f.code == "organization_mismatch"]
    else:
        changes, findings = diff(desired, live, today=today)
        findings = [*lookalikes(desired, live), *findings]
        violations = check(desired, live, changes, force=force, today=today)
    return OrgPlan(
        organization=desired.config.organization,
        api_url=api_url,
        token_env=token_env,
        live_fingerprint=live_fingerprint(live),
        caller=Caller(email=live.me.email, role=live.me.role, ip=live.ip),
        changes=changes,
        findings=[*violations, *extra, *findings],
    )


def lookalikes(desired: DesiredOrg, live: LiveState) -> list[Finding]:
    """`confusable_email` for each declared address that is not live but looks like one that is
    (`exаmple@` with a Cyrillic `а` declared, `example@` live): inviting it reaches someone else."""
    live_emails = {normalise_email(u.email) for u in live.users}
    by_skeleton = {emails.skeleton(e): e for e in live_emails}
    found = []
    for email, source in desired.user_sources.items():
        twin = None if email in live_emails else by_skeleton.get(emails.skeleton(email))
        if twin is not None:
            found.append(
                Finding(
                    severity="warning",
                    code="confusable_email",
                    message=(
                        f"{emails.escape(email)} looks like the live user {emails.escape(twin)} "
                        f"but is another address (as ASCII: {emails.as_ascii(email)}): it would be "
                        "invited, not matched"
                    ),
                    address=user_address(email),
                    source=Location.of(source),
                )
            )
    return found


def with_range_impact(
    org_plan: OrgPlan, desired: DesiredOrg, live: LiveState, client: AccessApiClient, *, today: date
) -> OrgPlan:
    """The plan with a `range_impact` finding per user a range change cuts off. Reads the
    logins of the last `policy.login_window_days` (one filtered audit query) only when the plan
    may take an address away; never for a plan of another organization's token."""
    from reconciler.logins import fetch_events, logins_of, window_start
    from reconciler.range_impact import needs_logins, range_impact

    if desired.config.organization != live.organization.name:
        return org_plan
    if not needs_logins(live, org_plan.changes):
        return org_plan
    policy = desired.config.policy
    since = window_start(today, policy.login_window_days)
    logins = logins_of(fetch_events(client, since), since)
    found = range_impact(live, org_plan.changes, logins, policy)
    if not found:
        return org_plan
    return org_plan.model_copy(update={"findings": [*org_plan.findings, *found]})


def load_desired(
    paths: Sequence[str | Path],
    *,
    today: date,
    only_org: str | None = None,
    fetching: bool = False,
) -> tuple[list[DesiredOrg], list[Finding]]:
    """Validated organizations (only `only_org` when given); ConfigError on any error.
    `fetching`: a fetch was begun meanwhile (see `plan_paths`); the error says it was dropped."""
    from reconciler.config import load

    result = load(list(paths), today=today)
    if only_org is not None:
        narrowed = result.only(only_org)
        if narrowed is None:
            known = ", ".join(o.config.organization for o in result.orgs) or "none"
            raise UsageError(f"no organization {only_org!r} in the config (found: {known})")
        result = narrowed
    if result.has_errors():
        errors = sum(1 for d in result.diagnostics if d.is_error)
        outcome = (
            "nothing was planned, and the fetch begun meanwhile was dropped"
            if fetching
            else "nothing was fetched"
        )
        raise ConfigError(
            f"the configuration has {errors} error{'s' if errors != 1 else ''}; {outcome}",
            hint="run `accessctl validate` on the same paths for details",
            diagnostics=result.diagnostics,
        )
    orgs = result.orgs
    if not orgs:
        raise UsageError("no organization found in the given paths")
    return orgs, result.diagnostics


# Validation warnings the diff restates with what the plan does about them.
_RESTATED = frozenset({"expiry_in_past"})


def _warnings_for(org: DesiredOrg, diags: Sequence[Finding]) -> list[Finding]:
    """The config's warnings in `org`'s files, as they are (column and hint too): plain
    `Finding`s, as a saved plan reads them back."""
    files = set(org.files)
    return [
        d
        for d in diags
        if d.source is not None
        and d.source.file in files
        and not d.is_error
        and d.code not in _RESTATED
    ]


def _read_texts(orgs: Sequence[DesiredOrg]) -> dict[str, str]:
    texts: dict[str, str] = {}
    for org in orgs:
        for name in org.files:
            try:
                texts[name] = Path(name).read_text(encoding="utf-8")
            except OSError as exc:
                raise AccessctlError(f"cannot read {name}: {exc.strerror}") from None
    return texts


def plan_paths(
    paths: Sequence[str | Path],
    *,
    today: date,
    environ: Mapping[str, str],
    api_url: str | None = None,
    only_org: str | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> Plan:
    """The whole plan for the config at `paths`. Raises ConfigError (with `.diagnostics`) when
    the config has errors: before any network call, or, for a large configuration whose live
    state was being read meanwhile (`prefetch`), once that read is dropped; ApiError when a
    fetch fails."""
    from reconciler.api import read_token

    early = _fetch_early(paths, environ, api_url, only_org, progress)
    clients: list[AccessApiClient] = []
    with early:
        try:
            orgs, diags = load_desired(
                paths, today=today, only_org=only_org, fetching=bool(early.started)
            )
            key = plan_key(environ)  # a key too short is refused before any request
            digest = config_digest(_read_texts(orgs))
            targets = [
                api_target(o.config.organization, o.config.api, environ, api_url) for o in orgs
            ]
            lives = _fetch_all(orgs, targets, early, clients, environ, progress)
            org_plans = [
                plan_org(
                    org,
                    live,
                    force=force,
                    api_url=url,
                    token_env=env,
                    extra=_warnings_for(org, diags),
                    today=today,
                )
                for org, live, (url, env) in zip(orgs, lives, targets, strict=True)
            ]
            org_plans = [
                with_range_impact(plan, org, live, client, today=today)
                for plan, org, live, client in zip(org_plans, orgs, lives, clients, strict=True)
            ]
        finally:
            for client in clients:
                client.close()
    across = cross_org_roles(org_plans, lives)
    plan = Plan(
        config_digest=digest,
        orgs=[
            org.model_copy(update={"findings": [*org.findings, *more]}) if more else org
            for org, more in zip(org_plans, across, strict=True)
        ],
    )
    if key is not None:
        secret = key.secret
        return sign(plan, lambda _org: secret, "ACCESSCTL_PLAN_KEY")
    return sign(plan, lambda org: read_token(org.token_env or "", environ))


def _fetch_all(
    orgs: Sequence[DesiredOrg],
    targets: Sequence[tuple[str, str]],
    early: EarlyFetches,
    clients: list[AccessApiClient],
    environ: Mapping[str, str],
    progress: Progress | None,
) -> list[LiveState]:
    """Each organization's live state: the fetch begun early for its target, else one started
    now (concurrently); its client is added to `clients`, for the caller to close."""
    from reconciler.api import fetch_many

    begun: list[Future[LiveState] | None] = []
    for org, (url, env) in zip(orgs, targets, strict=True):
        name = org.config.organization
        taken = early.take((name, url, env))
        if taken is None:
            clients.append(client_for(url, env, environ, organization=name, progress=progress))
        else:
            clients.append(taken[0])
        begun.append(None if taken is None else taken[1])
    rest = iter(fetch_many([c for c, f in zip(clients, begun, strict=True) if f is None]))
    return [next(rest) if f is None else f.result() for f in begun]


def _fetch_early(
    paths: Sequence[str | Path],
    environ: Mapping[str, str],
    api_url: str | None,
    only_org: str | None,
    progress: Progress | None,
) -> EarlyFetches:
    """The live state of a large configuration's organizations, begun before it is read (see
    `prefetch`); none when a bad plan key will stop the plan anyway."""
    try:
        plan_key(environ)
    except AccessctlError:
        return EarlyFetches()

    def opener(head: Head, on_page: Progress) -> tuple[Target, AccessApiClient]:
        api = ApiConfig.model_construct(url=head.url, token_env=head.token_env)
        url, env = api_target(head.organization, api, environ, api_url)
        name = head.organization
        return (name, url, env), client_for(url, env, environ, organization=name, progress=on_page)

    return fetch_early(paths, only_org, opener, progress)


def refetch(
    org_plan: OrgPlan,
    environ: Mapping[str, str],
    api_url: str | None = None,
    progress: Progress | None = None,
) -> LiveState:
    """The live state behind a saved org plan, fetched again (apply's staleness check)."""
    from reconciler.api import fetch_live_state

    client = open_plan_client(org_plan, environ, api_url, progress=progress)
    try:
        return fetch_live_state(client)
    finally:
        client.close()
