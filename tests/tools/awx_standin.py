# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small stand-in of the AWX API (/api/v2/): what awx.awx's modules call when playbooks/awx_setup.yml runs.

One in-memory store keyed by resource type; one table (RESOURCES) says, per type, its fields and their defaults,
its foreign keys, its sub-lists, its RBAC roles and its unique names. The handler is generic: list with filters,
detail, POST (201 with the object), PATCH, DELETE, association sub-lists (POST {"id"} / {"id", "disassociate"},
204); a few hooks do what AWX does beside the generic path (project updates, playbook check, survey specs, roles).

Where the shapes come from (awx.awx 24.6.1 in the venv, AWX at 24.6.1-145-ge21dd0a, github.com/ansible/awx):
- awx.awx plugins/module_utils/controller_api.py: a token from POST /api/v2/tokens/ with basic auth, then
  ``Authorization: Bearer``, DELETE of the token at the end (authenticate, logout); the X-API-Product-Name/-Version
  headers (make_request); get_one filters by ``name`` (or ``or__id``/``or__name`` for numbers) plus the module's
  data (organization, inventory, unified_job_template) and wants ``count`` and ``results``; get_all_endpoint
  follows ``next``; create_if_needed wants 200/201 with ``id`` and ``url``; update_if_needed compares the fields it
  sends with the object and PATCHes the whole set, then compares the answer; modify_associations wants 204.
- modules: project.py wait_for_project_update reads ``scm_revision`` and ``summary_fields.current_update.id`` from
  the POST answer and polls /project_updates/<id>/ for ``status``; job_template.py GETs and POSTs
  ``related.survey_spec`` (answer 200) and associates ``credentials``; schedule.py looks the template up in
  /unified_job_templates/ by name and organization and POSTs /schedules/; role.py reads
  ``summary_fields.object_roles.<role>_role.id`` of the resource, then GETs /roles/<id>/teams|users/ and POSTs
  {"id": team} there (204).
- AWX awx/api/serializers.py: CharNullField/ChoiceNullField (awx/api/fields.py) store null as '' (so awx.awx's
  inventory module, which sends ``kind: null`` unless told, PATCHes an unchanged inventory); JobOptionsSerializer
  makes ``organization`` read-only (a template's organization is its project's) and refuses a playbook not in the
  project's ``playbook_files`` ("Playbook not found for project."); JobTemplateSerializer.validate wants a project
  and an inventory (or ask_inventory_on_launch); get_related/get_summary_fields (``object_roles`` from
  role_summary_fields_generator in awx/main/models/rbac.py: id, name, description); SchedulePreviewSerializer.
  validate_rrule (DTSTART with a zone, RRULE, INTERVAL, no SECONDLY). awx/api/views/__init__.py:
  JobTemplateSurveySpec (GET answers {} without a survey, POST validates name/description/spec and each question's
  type/question_name/variable/required, answers 200 with no body), RoleTeamsList/TeamRolesList (attach with
  {"id"}, 204). awx/main/models/projects.py Project.save: a new SCM project, or a change of scm_url, scm_branch,
  scm_type or scm_refspec, starts a project update. awx/main/models/{jobs,projects,inventory,organization}.py:
  the ImplicitRoleFields each type has. Model uniqueness (name per organization or inventory) as in those models.

Not modelled: permissions (every authenticated call is the superuser's), job launches and what a job does, a
project update's git checkout (an update succeeds when it is first polled and finds the playbooks the stand-in was
given), inventory sources, instance groups, notifications, labels, workflows, users, the activity stream, and most
field validation beyond what is listed above. Unknown fields in a body are ignored, as DRF does; filtering on an
unknown field is a 400, as AWX answers.

Run: python awx_standin.py PORT_FILE (listens on a free loopback port and writes it to PORT_FILE); state at
GET /_standin/state. In tests: ``serve(playbooks=[...])``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import copy
import datetime
import json
import re
import sys
import threading

try:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from urllib.parse import parse_qs, urlencode, urlsplit
except ImportError:  # pragma: no cover
    pass

VERSION = "24.6.1"
API = "/api/v2/"

ASK = dict(("ask_%s_on_launch" % what, False) for what in (
    "scm_branch", "diff_mode", "variables", "limit", "tags", "skip_tags", "job_type", "verbosity", "inventory",
    "credential", "execution_environment", "labels", "forks", "job_slice_count", "timeout", "instance_groups"))

# type -> fields with their defaults (None for nullable, '' for CharNullField), fk (field -> type), sublists
# (name -> type, stored), roles (ImplicitRoleFields), unique (fields that make a name unique), required,
# read_only (sent values ignored), hidden (kept but not in the answer: a project's playbooks are served at
# /projects/<id>/playbooks/), table (types sharing an id sequence, as AWX's polymorphic tables do).
RESOURCES = {
    "organizations": dict(
        fields=dict(name=None, description="", max_hosts=0, default_environment=None),
        fk=dict(default_environment="execution_environments"), unique=("name",),
        roles=("admin", "execute", "project_admin", "inventory_admin", "credential_admin", "workflow_admin",
               "notification_admin", "job_template_admin", "execution_environment_admin", "auditor", "member",
               "read", "approval")),
    "credential_types": dict(
        fields=dict(name=None, description="", kind="", namespace=None, managed=False, inputs={}, injectors={}),
        unique=("name",), read_only=("managed", "namespace")),
    "credentials": dict(
        fields=dict(name=None, description="", organization=None, credential_type=None, inputs={}),
        fk=dict(organization="organizations", credential_type="credential_types"), required=("credential_type",),
        unique=("name", "organization", "credential_type"), roles=("admin", "use", "read")),
    "execution_environments": dict(
        fields=dict(name=None, description="", organization=None, image=None, managed=False, credential=None,
                    pull=""),
        fk=dict(organization="organizations", credential="credentials"), required=("image",), unique=("name",),
        read_only=("managed",)),
    "projects": dict(
        fields=dict(name=None, description="", local_path="", scm_type="", scm_url="", scm_branch="",
                    scm_refspec="", scm_clean=False, scm_track_submodules=False, scm_delete_on_update=False,
                    credential=None, timeout=0, scm_revision="", organization=None, scm_update_on_launch=False,
                    scm_update_cache_timeout=0, allow_override=False, custom_virtualenv=None,
                    default_environment=None, signature_validation_credential=None, status="never updated",
                    playbook_files=[]),
        fk=dict(organization="organizations", credential="credentials",
                default_environment="execution_environments", signature_validation_credential="credentials"),
        unique=("name", "organization"), table="unified_job_templates",
        read_only=("scm_revision", "status", "playbook_files", "custom_virtualenv"), hidden=("playbook_files",),
        roles=("admin", "use", "update", "read")),
    "project_updates": dict(
        fields=dict(name=None, project=None, status="pending", failed=False, scm_revision="", finished=None),
        fk=dict(project="projects"), table="unified_jobs"),
    "inventories": dict(
        fields=dict(name=None, description="", organization=None, kind="", host_filter=None, variables="",
                    prevent_instance_group_fallback=False),
        fk=dict(organization="organizations"), required=("organization",), unique=("name", "organization"),
        roles=("admin", "update", "adhoc", "use", "read")),
    "hosts": dict(
        fields=dict(name=None, description="", inventory=None, enabled=True, instance_id="", variables=""),
        fk=dict(inventory="inventories"), required=("inventory",), unique=("name", "inventory")),
    "groups": dict(
        fields=dict(name=None, description="", inventory=None, variables=""),
        fk=dict(inventory="inventories"), required=("inventory",), unique=("name", "inventory"),
        sublists=dict(hosts="hosts", children="groups")),
    "job_templates": dict(
        fields=dict(dict(name=None, description="", job_type="run", inventory=None, project=None, playbook="",
                         scm_branch="", forks=0, limit="", verbosity=0, extra_vars="", job_tags="",
                         force_handlers=False, skip_tags="", start_at_task="", timeout=0, use_fact_cache=False,
                         organization=None, execution_environment=None, host_config_key="", survey_enabled=False,
                         become_enabled=False, diff_mode=False, allow_simultaneous=False, custom_virtualenv=None,
                         job_slice_count=1, webhook_service="", webhook_credential=None,
                         prevent_instance_group_fallback=False), **ASK),
        fk=dict(inventory="inventories", project="projects", organization="organizations",
                execution_environment="execution_environments", webhook_credential="credentials"),
        unique=("name", "organization"), table="unified_job_templates",
        read_only=("organization", "custom_virtualenv"), sublists=dict(credentials="credentials"),
        roles=("admin", "execute", "read")),
    "schedules": dict(
        fields=dict(name=None, description="", unified_job_template=None, enabled=True, rrule=None,
                    extra_data={}, inventory=None, scm_branch=None, job_type=None, job_tags=None, skip_tags=None,
                    limit=None, diff_mode=None, verbosity=None, execution_environment=None, forks=None,
                    job_slice_count=None, timeout=None),
        fk=dict(unified_job_template="unified_job_templates", inventory="inventories",
                execution_environment="execution_environments"),
        required=("unified_job_template", "rrule"), unique=("name", "unified_job_template")),
    "teams": dict(
        fields=dict(name=None, description="", organization=None),
        fk=dict(organization="organizations"), required=("organization",), unique=("name", "organization"),
        roles=("admin", "member", "read")),
    "users": dict(fields=dict(username=None, is_superuser=False), unique=("username",)),
    "roles": dict(fields=dict(name=None, description="", role_field=None, content_type=None, object_id=None)),
}
# What AWX shows under /unified_job_templates/ (its polymorphic parent of projects and job templates).
UNIFIED = {"unified_job_templates": ("projects", "job_templates")}
SURVEY_TYPES = ("text", "textarea", "password", "integer", "float", "multiplechoice", "multiselect")


class ApiError(Exception):
    def __init__(self, status, body):
        Exception.__init__(self, status)
        self.status, self.body = status, body


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def singular(kind):
    return {"inventories": "inventory", "unified_job_templates": "unified_job_template"}.get(kind, kind[:-1])


class Store(object):
    """Objects by type and id, as AWX stores them (ids of a shared table count together), plus associations."""

    def __init__(self, playbooks=(), password="standin-password"):
        self.lock = threading.RLock()
        self.objects = dict((kind, {}) for kind in RESOURCES)
        self.links = {}  # (type, id, sublist) -> [ids]; role members: ("roles", id, "teams"|"users")
        self.surveys = {}  # job template id -> survey spec
        self.sequences = {}
        self.tokens = set()
        self.writes = []  # (method, path) of every POST, PATCH, PUT and DELETE but the token's
        self.playbooks = sorted(playbooks)
        self.password = password
        self.add("users", {"username": "admin", "is_superuser": True})
        self.add("organizations", {"name": "Default"})

    # -- storage ------------------------------------------------------------------------------------------------
    def add(self, kind, data):
        spec = RESOURCES[kind]
        table = spec.get("table", kind)
        self.sequences[table] = self.sequences.get(table, 0) + 1
        obj = copy.deepcopy(spec["fields"])
        obj.update(data)
        obj.update(id=self.sequences[table], created=now(), modified=now())
        self.objects[kind][obj["id"]] = obj
        for role in spec.get("roles", ()):
            role_obj = self.add("roles", {"name": role.replace("_", " ").title(), "role_field": role + "_role",
                                          "content_type": kind, "object_id": obj["id"],
                                          "description": "May %s the %s" % (role.replace("_", " "), singular(kind))})
            obj[role + "_role"] = role_obj["id"]
        return obj

    def find(self, kind, oid):
        for real in UNIFIED.get(kind, (kind,)):
            if int(oid) in self.objects.get(real, {}):
                return real, self.objects[real][int(oid)]
        return None, None

    def listing(self, kind):
        return [obj for real in UNIFIED.get(kind, (kind,)) for obj in self.objects[real].values()]

    def fields_of(self, kind):
        names = set(["id", "created", "modified", "type"])
        for real in UNIFIED.get(kind, (kind,)):
            names.update(RESOURCES[real]["fields"])
        return names

    # -- the answers ---------------------------------------------------------------------------------------------
    def render(self, kind, obj):
        spec = RESOURCES[kind]
        url = "%s%s/%d/" % (API, kind, obj["id"])
        out = dict((k, v) for k, v in obj.items() if not k.endswith("_role") and k not in spec.get("hidden", ()))
        out.update(type=singular(kind), url=url)
        related, summary = {}, {}
        for field, target in spec.get("fk", {}).items():
            if obj.get(field) is not None:
                real, ref = self.find(target, obj[field])
                related[field] = "%s%s/%d/" % (API, real, ref["id"])
                summary[field] = dict((k, ref.get(k)) for k in ("id", "name", "description"))
        for name in spec.get("sublists", {}):
            related[name] = url + name + "/"
        if spec.get("roles"):
            related["object_roles"] = url + "object_roles/"
            summary["object_roles"] = dict(
                (role + "_role", dict((k, self.objects["roles"][obj[role + "_role"]][k])
                                      for k in ("id", "name", "description"))) for role in spec["roles"])
        if kind == "job_templates":
            related.update(survey_spec=url + "survey_spec/", schedules=url + "schedules/", launch=url + "launch/",
                           copy=url + "copy/")
            summary["credentials"] = [dict(id=c["id"], name=c["name"], description=c["description"])
                                      for c in self.sub(kind, obj["id"], "credentials")]
        if kind == "projects":
            related.update(update=url + "update/", project_updates=url + "project_updates/",
                           playbooks=url + "playbooks/", schedules=url + "schedules/")
            for which, update in (("current_update", self.project_update(obj, active=True)),
                                  ("last_update", self.project_update(obj, active=False))):
                if update is not None:
                    related[which] = "%sproject_updates/%d/" % (API, update["id"])
                    summary[which] = dict((k, update[k]) for k in ("id", "name", "status", "failed"))
        if kind == "teams":
            related.update(roles=url + "roles/", users=url + "users/")
        if kind == "roles":
            related.update(teams=url + "teams/", users=url + "users/")
            owner = self.objects[obj["content_type"]].get(obj["object_id"], {})
            summary.update(resource_name=owner.get("name"), resource_type=singular(obj["content_type"]),
                           resource_id=obj["object_id"])
        out.update(related=related, summary_fields=summary)
        return out

    def project_update(self, project, active):
        updates = [u for u in self.objects["project_updates"].values() if u["project"] == project["id"]
                   and (u["status"] in ("pending", "waiting", "running")) == active]
        return updates[-1] if updates else None

    def sub(self, kind, oid, name):
        """The objects of a sub-list: stored associations, or views AWX derives from other objects."""
        if name == "schedules":
            return [s for s in self.objects["schedules"].values() if s["unified_job_template"] == oid]
        if kind == "inventories" and name in ("hosts", "groups"):
            return [o for o in self.objects[name].values() if o["inventory"] == oid]
        if name == "object_roles":
            return [r for r in self.objects["roles"].values() if (r["content_type"], r["object_id"]) == (kind, oid)]
        if kind == "teams" and name == "roles":  # the roles a team was given (TeamRolesList)
            return [self.objects["roles"][rid] for (k, rid, n), members in sorted(self.links.items())
                    if (k, n) == ("roles", "teams") and oid in members]
        target = "teams" if (kind, name) == ("roles", "teams") else "users" if name == "users" \
            else RESOURCES[kind].get("sublists", {}).get(name)
        return [self.objects[target][i] for i in self.links.get((kind, oid, name), []) if i in self.objects[target]]

    def sub_type(self, kind, name):
        if name in ("object_roles", "roles"):
            return "roles"
        if name in ("teams", "users"):
            return name
        if name == "schedules":
            return "schedules"
        if kind == "inventories" and name in ("hosts", "groups"):
            return name
        return RESOURCES[kind].get("sublists", {}).get(name)

    # -- writes --------------------------------------------------------------------------------------------------
    def clean(self, kind, body, current=None):
        """What AWX's serializer makes of a POST or PATCH body: unknown and read-only fields dropped, null in a
        CharNullField stored as '', foreign keys checked, required fields and unique names enforced."""
        spec = RESOURCES[kind]
        data = {}
        for key, value in body.items():
            if key not in spec["fields"] or key in spec.get("read_only", ()):
                continue
            if value is None and isinstance(spec["fields"][key], str):
                value = ""
            target = spec.get("fk", {}).get(key)
            if target and value not in (None, ""):
                if not isinstance(value, int) or self.find(target, value)[1] is None:
                    raise ApiError(400, {key: ['Invalid pk "%s" - object does not exist.' % value]})
            data[key] = value
        merged = dict(current or spec["fields"], **data)
        for key in ("name",) + spec.get("required", ()):
            if key in spec["fields"] and merged.get(key) in (None, ""):
                raise ApiError(400, {key: ["This field is required."]})
        check = getattr(self, "check_" + kind, None)
        if check:
            check(current, data)
        merged = dict(current or spec["fields"], **data)
        unique = spec.get("unique")
        if unique:
            for other in self.objects[kind].values():
                if other is not current and all(other.get(f) == merged.get(f) for f in unique):
                    raise ApiError(400, {"__all__": ["%s with this %s already exists." % (
                        singular(kind).replace("_", " ").capitalize(), " and ".join(f.title() for f in unique))]})
        return data

    def create(self, kind, body):
        data = self.clean(kind, body)
        obj = self.add(kind, data)
        if kind == "projects" and obj["scm_type"]:
            self.start_update(obj)
        return obj

    def update(self, kind, obj, body):
        data = self.clean(kind, body, current=obj)
        triggers = [f for f in ("scm_url", "scm_branch", "scm_type", "scm_refspec") if f in data and data[f] != obj[f]]
        obj.update(data, modified=now())
        if kind == "projects" and triggers and obj["scm_type"]:
            self.start_update(obj)
        return obj

    def start_update(self, project):
        """Project.save: a new SCM project, or one whose source changed, gets a project update."""
        self.add("project_updates", {"name": project["name"], "project": project["id"]})

    def poll_update(self, update):
        """A pending project update finishes when it is first read: it 'finds' the stand-in's playbooks."""
        if update["status"] == "pending":
            project = self.objects["projects"][update["project"]]
            update.update(status="successful", scm_revision="0123456789abcdef0123456789abcdef01234567",
                          finished=now())
            project.update(status="successful", scm_revision=update["scm_revision"], playbook_files=self.playbooks)

    def check_job_templates(self, current, data):
        """JobTemplateSerializer/JobOptionsSerializer.validate; the organization is the project's."""
        merged = dict(current or RESOURCES["job_templates"]["fields"], **data)
        if merged["project"] is None:
            raise ApiError(400, {"project": ["Job Templates must have a project assigned."]})
        if merged["inventory"] is None and not merged["ask_inventory_on_launch"]:
            raise ApiError(400, {"inventory": ["You must either set a default value or ask to prompt on launch."]})
        project = self.objects["projects"][merged["project"]]
        if not merged["playbook"]:
            raise ApiError(400, {"playbook": ["Must select playbook for project."]})
        if project["scm_type"] and not project["allow_override"] and merged["playbook"] not in project["playbook_files"]:
            raise ApiError(400, {"playbook": ["Playbook not found for project."]})
        if merged["extra_vars"]:
            try:
                json.loads(merged["extra_vars"])
            except ValueError:
                raise ApiError(400, {"extra_vars": ["Cannot parse as JSON (the stand-in does not parse YAML)."]})
        data["organization"] = project["organization"]

    def check_schedules(self, current, data):
        """SchedulePreviewSerializer.validate_rrule, its checks that need no rrule parser."""
        rrule = data.get("rrule", current and current["rrule"]) or ""
        errors = []
        if not re.findall(r".*?(DTSTART(;[^:]+)?\:[0-9]+T[0-9]+Z?)", rrule):
            errors.append("Valid DTSTART required in rrule. Value should start with: DTSTART:YYYYMMDDTHHMMSSZ")
        if re.findall(r".*?(DTSTART:[0-9]+T[0-9]+) ", rrule):
            errors.append("DTSTART cannot be a naive datetime.  Specify ;TZINFO= or YYYYMMDDTHHMMSSZZ.")
        if "rrule:" not in rrule.lower():
            errors.append("One or more rule required in rrule.")
        for rule in re.findall(r".*?(RULE\:[^\s]*)", rrule):
            if "interval" not in rule.lower():
                errors.append("INTERVAL required in rrule: %s" % rule)
            elif "secondly" in rule.lower():
                errors.append("SECONDLY is not supported: %s" % rule)
        if errors:
            raise ApiError(400, {"rrule": errors})

    def associate(self, kind, oid, name, body):
        """SubListAttachDetachAPIView: {"id": n} attaches, {"id": n, "disassociate": true} detaches; 204."""
        target = self.sub_type(kind, name)
        if kind == "teams" and name == "roles":  # TeamRolesList: the same link as RoleTeamsList
            if body.get("id") not in self.objects["roles"]:
                raise ApiError(400, {"msg": "Object with id %s not found." % body.get("id")})
            kind, oid, name, target, body = "roles", body["id"], "teams", "teams", dict(body, id=oid)
        sub_id = body.get("id")
        if not isinstance(sub_id, int) or sub_id not in self.objects.get(target, {}):
            raise ApiError(400, {"msg": "Object with id %s not found." % sub_id})
        ids = self.links.setdefault((kind, oid, name), [])
        if body.get("disassociate"):
            if sub_id in ids:
                ids.remove(sub_id)
            return
        if kind == "job_templates" and name == "credentials":
            ctype = self.objects["credentials"][sub_id]["credential_type"]
            if any(self.objects["credentials"][i]["credential_type"] == ctype for i in ids if i != sub_id):
                raise ApiError(400, {"error": "Cannot assign multiple %s credentials."
                                     % self.objects["credential_types"][ctype]["name"]})
        if kind == "roles" and self.objects["roles"][oid]["content_type"] == "organizations" \
                and self.objects["roles"][oid]["role_field"] in ("member_role", "admin_role") and name == "teams":
            raise ApiError(400, {"msg": "You cannot assign an Organization participation role as a child role for a Team."})
        if sub_id not in ids:
            ids.append(sub_id)

    def set_survey(self, oid, spec):
        """JobTemplateSurveySpec._validate_spec_data, its schema and per-question checks."""
        for field, kind in (("name", str), ("description", str), ("spec", list)):
            if field not in spec:
                raise ApiError(400, {"error": "Field '%s' is missing from survey spec." % field})
            if not isinstance(spec[field], kind):
                raise ApiError(400, {"error": "Expected %s for field '%s'." % (kind.__name__, field)})
        if not spec["spec"]:
            raise ApiError(400, {"error": "'spec' doesn't contain any items."})
        seen = set()
        for idx, item in enumerate(spec["spec"]):
            for field in ("type", "question_name", "variable", "required"):
                if field not in item:
                    raise ApiError(400, {"error": "'%s' missing from survey question %d" % (field, idx)})
                if not isinstance(item[field], bool if field == "required" else str):
                    raise ApiError(400, {"error": "'%s' in survey question %d has the wrong type." % (field, idx)})
            if item["variable"] in seen:
                raise ApiError(400, {"error": "'variable' '%s' duplicated in survey question %d." % (item["variable"], idx)})
            seen.add(item["variable"])
            if item["type"] not in SURVEY_TYPES:
                raise ApiError(400, {"error": "'%s' in survey question %d is not an allowed question type." % (item["type"], idx)})
            for key in ("min", "max"):
                if item.get(key) is not None and not isinstance(item[key], int):
                    raise ApiError(400, {"error": "The %s limit in survey question %d expected to be integer." % (key, idx)})
        self.surveys[oid] = copy.deepcopy(spec)

    def state(self):
        """Everything as the API would answer it, by type; plus role members, surveys and the writes."""
        with self.lock:
            objects = dict((kind, dict((oid, self.render(kind, obj)) for oid, obj in objs.items()))
                           for kind, objs in self.objects.items())
            members = dict((rid, dict(teams=self.links.get(("roles", rid, "teams"), []),
                                      users=self.links.get(("roles", rid, "users"), [])))
                           for rid in self.objects["roles"])
            links = dict(("%s/%d/%s" % key, ids) for key, ids in self.links.items())
            return dict(objects=objects, role_members=members, links=links, surveys=copy.deepcopy(self.surveys),
                        writes=list(self.writes))


def handler_for(store):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # quiet
            pass

        def _send(self, status, body=None):
            data = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("X-API-Product-Name", "AWX")
            self.send_header("X-API-Product-Version", VERSION)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self):
            length = int(self.headers.get("Content-Length") or 0)
            if not length:
                return {}
            try:
                return json.loads(self.rfile.read(length))
            except ValueError:
                raise ApiError(400, {"detail": "JSON parse error"})

        def _authorized(self):
            auth = self.headers.get("Authorization") or ""
            if auth.startswith("Bearer "):
                return auth[7:] in store.tokens
            if auth.startswith("Basic "):
                user, _sep, password = base64.b64decode(auth[6:]).decode().partition(":")
                return user == "admin" and password == store.password
            return False

        def _route(self, method):
            split = urlsplit(self.path)
            parts = [p for p in split.path.split("/") if p]
            query = parse_qs(split.query, keep_blank_values=True)
            try:
                if parts == ["_standin", "state"]:
                    return self._send(200, store.state())
                if parts[:2] != ["api", "v2"]:
                    raise ApiError(404, {"detail": "Not found."})
                parts = parts[2:]
                if parts == ["ping"]:
                    return self._send(200, {"version": VERSION, "active_node": "standin"})
                if parts[:1] == ["tokens"]:
                    return self._tokens(method, parts)
                body = self._body() if method in ("POST", "PATCH", "PUT") else None
                if not self._authorized():
                    raise ApiError(401, {"detail": "Authentication credentials were not provided."})
                with store.lock:
                    if method != "GET":
                        store.writes.append((method, split.path))
                    return self._send(*self._dispatch(method, parts, query, body))
            except ApiError as err:
                return self._send(err.status, err.body)
            except Exception as err:  # pylint: disable=broad-except
                return self._send(500, {"detail": "stand-in error: %r" % err})

        def _tokens(self, method, parts):
            if method == "POST" and len(parts) == 1:
                if not self._authorized():
                    raise ApiError(401, {"detail": "Invalid username/password."})
                self._body()
                token = "standin-token-%d" % (len(store.tokens) + 1)
                store.tokens.add(token)
                return self._send(201, {"id": len(store.tokens), "token": token, "type": "o_auth2_access_token"})
            if method == "DELETE" and len(parts) == 2 and self._authorized():
                return self._send(204)
            raise ApiError(401, {"detail": "Authentication credentials were not provided."})

        def _dispatch(self, method, parts, query, body):
            kind = parts[0] if parts else None
            if kind not in RESOURCES and kind not in UNIFIED:
                raise ApiError(404, {"detail": "Not found."})
            if len(parts) == 1:
                if method == "GET":
                    return 200, self._list(kind, store.listing(kind), query)
                if method == "POST" and kind in RESOURCES and kind not in ("roles", "project_updates"):
                    obj = store.create(kind, body)
                    return 201, store.render(kind, obj)
                raise ApiError(405, {"detail": 'Method "%s" not allowed.' % method})
            if not parts[1].isdigit():
                raise ApiError(404, {"detail": "Not found."})
            real, obj = store.find(kind, parts[1])
            if obj is None:
                raise ApiError(404, {"detail": "Not found."})
            oid = obj["id"]
            if len(parts) == 2:
                if method == "GET":
                    if real == "project_updates":
                        store.poll_update(obj)
                    return 200, store.render(real, obj)
                if method in ("PATCH", "PUT"):
                    return 200, store.render(real, store.update(real, obj, body))
                if method == "DELETE":
                    del store.objects[real][oid]
                    return 204, None
            if len(parts) == 3 and real == "job_templates" and parts[2] == "survey_spec":
                if method == "GET":
                    return 200, copy.deepcopy(store.surveys.get(oid, {}))
                if method == "POST":
                    store.set_survey(oid, body)
                    return 200, None
                if method == "DELETE":
                    store.surveys.pop(oid, None)
                    return 200, None
            if len(parts) == 3 and real == "projects" and parts[2] == "playbooks" and method == "GET":
                return 200, list(obj["playbook_files"])
            if len(parts) == 3 and parts[2] == "schedules" and method == "POST":
                obj = store.create("schedules", dict(body, unified_job_template=oid))
                return 201, store.render("schedules", obj)
            if len(parts) == 3 and store.sub_type(real, parts[2]):
                if method == "GET":
                    target = store.sub_type(real, parts[2])
                    return 200, self._list(target, store.sub(real, oid, parts[2]), query)
                if method == "POST":
                    store.associate(real, oid, parts[2], body)
                    return 204, None
            raise ApiError(404 if method == "GET" else 405, {"detail": "Not found."})

        def _list(self, kind, items, query):
            """AWX's list answer: filters (field=value, or__field=value), then count/next/previous/results."""
            size = int(query.pop("page_size", ["25"])[0])
            page = int(query.pop("page", ["1"])[0])
            query.pop("order_by", None)
            allowed = store.fields_of(kind)
            ands, ors = [], []
            for key, values in query.items():
                negate = key.startswith("not__")
                is_or = key.startswith("or__")
                field = key.split("__", 1)[1] if negate or is_or else key
                if field.endswith("__exact"):
                    field = field[:-7]
                if field not in allowed:
                    raise ApiError(400, {"detail": "Cannot filter on %s (not a field of %s)." % (field, kind)})
                (ors if is_or else ands).append((field, values[0], negate))

            def matches(obj, field, value, negate):
                have = obj.get(field)
                same = ("" if have is None else str(have).lower() if isinstance(have, bool) else str(have)) == value
                return same != negate

            items = [o for o in sorted(items, key=lambda o: o["id"]) if all(matches(o, *c) for c in ands)
                     and (not ors or any(matches(o, *c) for c in ors))]
            chunk = items[(page - 1) * size:page * size]

            def link(number):
                return "%s%s?%s" % (API, "/".join(self.path.split("?")[0].split("/")[3:]).rstrip("/") + "/",
                                    urlencode(dict(dict((k, v[0]) for k, v in query.items()), page=number,
                                                   page_size=size)))

            results = []
            for obj in chunk:
                real = kind if kind in RESOURCES else next(r for r in UNIFIED[kind] if obj in store.objects[r].values())
                results.append(store.render(real, obj))
            return {"count": len(items), "next": link(page + 1) if page * size < len(items) else None,
                    "previous": link(page - 1) if page > 1 else None, "results": results}

        def do_GET(self):
            self._route("GET")

        def do_POST(self):
            self._route("POST")

        def do_PATCH(self):
            self._route("PATCH")

        def do_PUT(self):
            self._route("PUT")

        def do_DELETE(self):
            self._route("DELETE")

    return Handler


def serve(port=0, playbooks=(), password="standin-password"):
    """Start the stand-in in a thread; return (server, store). ``server.server_address[1]`` is the port.
    ``playbooks``: what a project update of any project finds (paths relative to the project)."""
    store = Store(playbooks=playbooks, password=password)
    server = ThreadingHTTPServer(("127.0.0.1", port), handler_for(store))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, store


if __name__ == "__main__":
    srv, _store = serve(playbooks=sys.argv[2:])
    with open(sys.argv[1], "w") as out:
        out.write(str(srv.server_address[1]))
    threading.Event().wait()
