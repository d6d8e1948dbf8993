"""schemathesis hooks for Mosaic (loaded by scripts/schemathesis.sh through SCHEMATHESIS_HOOKS).

Generated data can follow the schema and still name nothing real: a random UUID for a
cloud-config or host, a container name no daemon has. These hooks point valid (positive) cases
at real resources just before they are sent, so the operations reach their logic instead of
answering 404 or 400 to every case. Negative cases are left alone.

Operations that consume what they act on (deleting a deployment, an orphan, an exposed port;
removing a member or instances; adopting an orphan) get a fresh resource per case, made through
the API (or, for orphans, with `lxc` on test host A), from a busybox cloud-config of the hooks'
own (the run edits the seeded one at will). The script's cleanup removes every container of
the run's deployments, and the orphans.

Destructive operations keep a doomed seeded resource in tests/schemathesis/schemathesis.toml,
which negative cases (left alone here) and stateful links then aim at instead of live ones.
"""

import itertools
import json
import os
import subprocess
import time
import urllib.error
import urllib.request

import schemathesis
from hypothesis import strategies as st
from schemathesis import GenerationMode

BASE = os.environ["ST_BASE"]
TOKEN = os.environ["ST_TOKEN"]
HOST = os.environ["ST_HOST"]
CLOUD_CONFIG = os.environ["ST_CLOUD_CONFIG"]
DEPLOYMENT = os.environ["ST_DEPLOYMENT"]
IMAGE = os.environ["ST_IMAGE"]
LXD_A_URL = os.environ["ST_LXD_A_URL"]
LXD_B_URL = os.environ["ST_LXD_B_URL"]
LXD_B_FINGERPRINT = os.environ["ST_LXD_B_FINGERPRINT"]
TRUST_PASSWORD = os.environ["ST_TRUST_PASSWORD"]
LXC_ENV = {**os.environ, "LXD_DIR": os.environ["ST_LXD_DIR"], "LXD_CONF": os.environ["ST_LXD_CONF"]}

_serial = itertools.count(1)


def _api(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"{BASE}{path}",
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.load(response)
    except urllib.error.HTTPError as e:
        raise RuntimeError(f"{method} {path} answered {e.code}: {e.read().decode(errors='replace')}") from None


def _api_status(method, path):
    """The status of a call whose answer does not matter (a clean-up)."""
    request = urllib.request.Request(f"{BASE}{path}", method=method, headers={"Authorization": f"Bearer {TOKEN}"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as e:
        return e.code


_own_cloud_config = []


def _cloud_config():
    """A busybox cloud-config of the hooks' own: the run edits the seeded one at will."""
    if not _own_cloud_config:
        body = {"namespace": "St", "name": _fresh_name("Hooks"), "image": IMAGE, "user_data": "#cloud-config\n"}
        _own_cloud_config.append(_api("POST", "/api/v1/cloud-configs", body)["id"])
    return _own_cloud_config[0]


def _fresh_name(prefix):
    return f"{prefix}{os.getpid()}x{next(_serial)}"


def _fresh_deployment():
    """A deployment with the hooks' cloud-config as its member and no instances."""
    body = {"name": _fresh_name("St-"), "cloud_configs": [{"cloud_config_id": _cloud_config()}]}
    return _api("POST", "/api/v1/deployments", body)["id"]


def _wait(job):
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        state = _api("GET", f"/api/v1/jobs/{job}")["state"]
        if state not in ("queued", "running"):
            return state
        time.sleep(0.2)
    raise RuntimeError(f"job {job} did not finish")


def _fresh_instance():
    """A created (not started) busybox instance in a deployment of its own."""
    deployment = _fresh_deployment()
    body = {"cloud_configs": [{"cloud_config_id": _cloud_config(), "count": 1, "hosts": [HOST]}]}
    job = _api("POST", f"/api/v1/deployments/{deployment}/deploy", body)["id"]
    state = _wait(job)
    instances = _api("GET", f"/api/v1/instances?deployment_id={deployment}")["items"]
    if not instances:
        raise RuntimeError(f"the deploy of a fresh instance ended {state} with no instance")
    return deployment, instances[0]["id"]


def _fresh_orphan():
    """A container on host A carrying the seeded deployment's key that Mosaic does not know."""
    name = _fresh_name("st-orphan-")
    subprocess.run(
        ["lxc", "init", IMAGE, name, "-c", f"user.mosaic.deployment={DEPLOYMENT}", "-c", "user.mosaic.managed=true"],
        env=LXC_ENV,
        check=True,
        capture_output=True,
    )
    return name


def _positive(case):
    return case.meta is not None and case.meta.generation.mode == GenerationMode.POSITIVE


def _delete_deployment(case):
    case.path_parameters["id"] = _fresh_deployment()


def _remove_deployment_cloud_config(case):
    case.path_parameters["id"] = _fresh_deployment()
    case.path_parameters["cloud_config_id"] = _cloud_config()


def _delete_deployment_orphan(case):
    case.path_parameters.update(id=DEPLOYMENT, host_id=HOST, name=_fresh_orphan())


def _adopt_deployment_orphan(case):
    if isinstance(case.body, dict):
        case.body["host_id"] = HOST
        case.body["name"] = _fresh_orphan()
        if case.body.get("cloud_config_id") is not None:
            case.body["cloud_config_id"] = CLOUD_CONFIG


def _unexpose_deployment_port(case):
    deployment = _fresh_deployment()
    port = _api("POST", f"/api/v1/deployments/{deployment}/ports", {"cloud_config_id": _cloud_config(), "target_port": 8080})
    case.path_parameters.update(id=deployment, port_id=port["id"])


def _expose_deployment_port(case):
    # A member of the deployment the case names (a stateful run links to others than the seeded
    # one), and a TCP port with its check: the schema cannot tie `protocol` to `health_check`.
    if isinstance(case.body, dict):
        deployment = case.path_parameters.get("id", DEPLOYMENT)
        try:
            members = _api("GET", f"/api/v1/deployments/{deployment}").get("cloud_configs") or []
        except RuntimeError:
            members = []
        case.body["cloud_config_id"] = members[0]["cloud_config_id"] if members else CLOUD_CONFIG
        check = case.body.get("health_check")
        if case.body.get("protocol") == "tcp" and not (isinstance(check, dict) and check.get("type") == "tcp"):
            case.body["health_check"] = {"type": "tcp", "send": "PING\r\n", "expect": "+PONG"}


def _add_deployment_cloud_config(case):
    if isinstance(case.body, dict):
        made = _api(
            "POST",
            "/api/v1/cloud-configs",
            {"namespace": "St", "name": _fresh_name("Cc"), "image": IMAGE, "user_data": "#cloud-config\n"},
        )
        case.body["cloud_config_id"] = made["id"]
        case.body.pop("revision", None)


def _deploy_deployment(case):
    # One instance of the seeded member on host A: the run stays cheap, and what it makes is in
    # the seeded deployment, which the script's cleanup empties.
    entries = case.body.get("cloud_configs") if isinstance(case.body, dict) else None
    if isinstance(entries, list) and entries and isinstance(entries[0], dict):
        entry = entries[0]
        entry.update(cloud_config_id=CLOUD_CONFIG, hosts=[HOST], count=1)
        entry.pop("members", None)
        entry["profiles"] = ["default"] if entry.get("profiles") else []
        case.body["cloud_configs"] = [entry]


def _remove_deployment_instances(case):
    deployment, instance = _fresh_instance()
    case.path_parameters["id"] = deployment
    if isinstance(case.body, dict):
        case.body["instance_ids"] = [instance]


def _create_cloud_config(case):
    # A generated namespace/name may be taken already (409): a fresh one reaches the handler.
    if isinstance(case.body, dict):
        case.body.update(namespace="St", name=_fresh_name("Made"))


def _create_deployment(case):
    # A fresh name, and members that exist (a generated UUID names no cloud-config).
    if isinstance(case.body, dict):
        case.body["name"] = _fresh_name("Made-")
        entries = case.body.get("cloud_configs")
        if isinstance(entries, list) and entries:
            entry = entries[0] if isinstance(entries[0], dict) else {}
            entry["cloud_config_id"] = _cloud_config()
            entry.pop("revision", None)
            case.body["cloud_configs"] = [entry]


def _diff_cloud_config_revisions(case):
    # Revision 1 is the one every cloud-config has.
    if isinstance(case.query, dict):
        case.query.update({"from": 1, "to": 1})


def _create_host(case):
    # Test host B, which the seeding does not register: unregistered first (if a case before
    # registered it), so this registration can succeed, under a name no host has.
    if isinstance(case.body, dict):
        case.body["name"] = _fresh_name("Host")
        listed = _api("GET", "/api/v1/hosts")
        for host in listed["items"] if isinstance(listed, dict) else listed:
            if (host.get("url") or "").rstrip("/") == LXD_B_URL.rstrip("/"):
                _api_status("DELETE", f"/api/v1/hosts/{host['id']}")
        case.body.update(url=LXD_B_URL, fingerprint=LXD_B_FINGERPRINT, trust_password=TRUST_PASSWORD)
        for key in ("socket_path", "trust_token", "project"):
            case.body.pop(key, None)


def _fetch_host_fingerprint(case):
    if isinstance(case.body, dict):
        case.body["url"] = LXD_A_URL


def _create_deployment_rollout(case):
    # A deployment of its own (no instances: the rollout has nothing to replace and ends at once),
    # so no rollout holds the seeded deployment's job slot.
    case.path_parameters["id"] = _fresh_deployment()
    if isinstance(case.body, dict):
        case.body["cloud_config_id"] = _cloud_config()
        case.body.pop("revision", None)
        if not case.body.get("max_surge") and not case.body.get("max_unavailable"):
            case.body["max_surge"] = 1


FRESH = {
    "delete_deployment": _delete_deployment,
    "remove_deployment_cloud_config": _remove_deployment_cloud_config,
    "delete_deployment_orphan": _delete_deployment_orphan,
    "adopt_deployment_orphan": _adopt_deployment_orphan,
    "unexpose_deployment_port": _unexpose_deployment_port,
    "expose_deployment_port": _expose_deployment_port,
    "add_deployment_cloud_config": _add_deployment_cloud_config,
    "deploy_deployment": _deploy_deployment,
    "remove_deployment_instances": _remove_deployment_instances,
    "create_cloud_config": _create_cloud_config,
    "create_deployment": _create_deployment,
    "create_host": _create_host,
    "diff_cloud_config_revisions": _diff_cloud_config_revisions,
    "fetch_host_fingerprint": _fetch_host_fingerprint,
    "create_deployment_rollout": _create_deployment_rollout,
}


# Fresh resources cost LXD calls: the first few valid cases of each operation in each phase get
# them (enough for the operation to reach its logic there), the rest go out as generated.
BUDGET = 3
_spent = {}


@schemathesis.hook
def before_call(context, case, kwargs):
    if not _positive(case):
        return
    # A list's `cursor` is opaque: only one the server gave out is valid, which no generator
    # can know. Valid cases list from the start.
    if isinstance(case.query, dict):
        case.query.pop("cursor", None)
    # An expiry must lie ahead, which a date-time format cannot say.
    if isinstance(case.body, dict) and isinstance(case.body.get("expires_at"), str):
        case.body["expires_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 86400))
    operation = case.operation.definition.raw.get("operationId")
    adjust = FRESH.get(operation)
    if adjust is None:
        return
    key = (operation, case.meta.phase.name)
    if _spent.get(key, 0) >= BUDGET:
        return
    _spent[key] = _spent.get(key, 0) + 1
    adjust(case)


# User-data (`format: cloud-config`): `#cloud-config`, then a YAML mapping. JSON is YAML, so a
# JSON object of cloud-init's list-valued keys is one.
_CLOUD_INIT_KEYS = ["runcmd", "bootcmd", "packages", "ssh_authorized_keys"]
schemathesis.openapi.format(
    "cloud-config",
    st.dictionaries(
        st.sampled_from(_CLOUD_INIT_KEYS),
        st.lists(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789 -_/", min_size=1, max_size=20), max_size=3),
        max_size=3,
    ).map(lambda document: "#cloud-config\n" + json.dumps(document) + "\n"),
)
