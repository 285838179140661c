#!/usr/bin/env python3
"""Generates crates/krs-proto/src/schema.rs, the table that drives krs' protobuf <-> JSON transcoder.

Kubernetes' protobuf wire format is described by the generated.proto file of each API package
(message names, field numbers, scalar types, repeated/map), while the JSON form of the same
objects follows the Go types of that package (JSON names, omitempty, pointers, inlined embedded
structs, named slice types). This script reads both from the upstream sources, joins them field
by field (by protobuf field number), and writes one compact static table.

Usage:
    python3 tools/gen-proto-schema.py \\
        --api /work/.mirror/kubernetes+api/repo \\
        --apimachinery /work/.mirror/kubernetes+apimachinery/repo \\
        --apiextensions /work/.mirror/kubernetes+apiextensions-apiserver/repo \\
        --aggregator /work/.mirror/kubernetes+kube-aggregator/repo \\
        [--k8s-pb ~/.cargo/registry/src/<index>/k8s-pb-0.9.0/src] \\
        [--k8s-openapi ~/.cargo/registry/src/<index>/k8s-openapi-0.29.0/src/v1_34] \\
        --out crates/krs-proto/src/schema.rs

Each source may be a git directory (read at HEAD, no work tree needed) or a checked-out tree.
--k8s-pb, when given, cross-checks every field's number, type, repeated-ness and map value type
against the prost structs of the k8s-pb crate (an independent generator's output); --k8s-openapi
cross-checks each message's JSON member names (inlined structs flattened) against k8s-openapi's
serde code. Either fails the run on a disagreement. Only the crates' source text is read.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from dataclasses import dataclass

# ---------------------------------------------------------------------------------------------
# Reading sources (git object store or plain tree)


class Source:
    def __init__(self, root: str):
        self.root = root
        self.git = not os.path.exists(os.path.join(root, "go.mod"))
        if self.git:
            self.rev = subprocess.run(
                ["git", "-C", root, "rev-parse", "HEAD"], check=True, capture_output=True, text=True
            ).stdout.strip()
            names = subprocess.run(
                ["git", "-C", root, "ls-tree", "-r", "HEAD", "--name-only"],
                check=True,
                capture_output=True,
                text=True,
            ).stdout.split("\n")
            self.files = [n for n in names if n]
        else:
            self.rev = "work tree"
            self.files = []
            for dirpath, _, filenames in os.walk(root):
                for f in filenames:
                    self.files.append(os.path.relpath(os.path.join(dirpath, f), root))

    def read(self, path: str) -> str:
        if self.git:
            return subprocess.run(
                ["git", "-C", self.root, "show", f"HEAD:{path}"], check=True, capture_output=True, text=True
            ).stdout
        with open(os.path.join(self.root, path), encoding="utf-8") as f:
            return f.read()

    def go_files(self, pkg_dir: str) -> list[str]:
        out = []
        for f in self.files:
            d, base = os.path.split(f)
            if d != pkg_dir or not base.endswith(".go"):
                continue
            if base.endswith("_test.go") or base.startswith("zz_generated") or base == "generated.pb.go":
                continue
            out.append(f)
        return sorted(out)


# ---------------------------------------------------------------------------------------------
# generated.proto parsing


@dataclass
class ProtoField:
    name: str
    number: int
    label: str  # optional | repeated | map
    type: str  # scalar name or fully-qualified message name (map: value type)


@dataclass
class ProtoMessage:
    package: str
    name: str
    fields: list[ProtoField]

    @property
    def full(self) -> str:
        return f"{self.package}.{self.name}"


SCALARS = {"string", "bool", "int32", "int64", "uint32", "uint64", "double", "float", "bytes"}


def strip_proto_comments(src: str) -> str:
    src = re.sub(r"/\*.*?\*/", "", src, flags=re.S)
    return re.sub(r"//[^\n]*", "", src)


def parse_proto(src: str) -> list[ProtoMessage]:
    src = strip_proto_comments(src)
    m = re.search(r"^\s*package\s+([\w.]+)\s*;", src, re.M)
    if not m:
        raise SystemExit("generated.proto without a package")
    package = m.group(1)
    messages = []
    pos = 0
    for mm in re.finditer(r"\bmessage\s+(\w+)\s*\{", src):
        if mm.start() < pos:
            raise SystemExit(f"nested message {mm.group(1)} in {package}: not supported")
        depth, i = 1, mm.end()
        while depth:
            c = src[i]
            depth += c == "{"
            depth -= c == "}"
            i += 1
        pos = i
        body = src[mm.end() : i - 1]
        if "{" in body:  # nested message, enum or oneof
            raise SystemExit(f"unsupported construct in message {mm.group(1)} of {package}")
        fields = []
        for stmt in body.split(";"):
            stmt = " ".join(stmt.split())
            if not stmt:
                continue
            f = re.fullmatch(r"map\s*<\s*([\w.]+)\s*,\s*([\w.]+)\s*>\s+(\w+)\s*=\s*(\d+)", stmt)
            if f:
                if f.group(1) != "string":
                    raise SystemExit(f"map key {f.group(1)} in {package}.{mm.group(1)}: only string keys")
                fields.append(ProtoField(f.group(3), int(f.group(4)), "map", f.group(2)))
                continue
            f = re.fullmatch(r"(optional|repeated|required)\s+([\w.]+)\s+(\w+)\s*=\s*(\d+)", stmt)
            if not f:
                raise SystemExit(f"cannot parse field `{stmt}` in {package}.{mm.group(1)}")
            label = "repeated" if f.group(1) == "repeated" else "optional"
            fields.append(ProtoField(f.group(3), int(f.group(4)), label, f.group(2)))
        messages.append(ProtoMessage(package, mm.group(1), fields))
    for msg in messages:
        for f in msg.fields:
            if f.type not in SCALARS:
                f.type = f.type[1:] if f.type.startswith(".") else f"{package}.{f.type}"
    return messages


# ---------------------------------------------------------------------------------------------
# Go type parsing (just enough of Go for API type declarations)


def strip_go_comments(src: str) -> str:
    out = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if c == "/" and i + 1 < n and src[i + 1] == "/":
            j = src.find("\n", i)
            i = n if j < 0 else j
        elif c == "/" and i + 1 < n and src[i + 1] == "*":
            j = src.find("*/", i + 2)
            i = n if j < 0 else j + 2
            out.append(" ")
        elif c in "\"'":
            j = i + 1
            while j < n and src[j] != c:
                j += 2 if src[j] == "\\" else 1
            out.append(src[i : j + 1])
            i = j + 1
        elif c == "`":
            j = src.find("`", i + 1)
            out.append(src[i : j + 1])
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


@dataclass
class GoField:
    name: str
    type: str  # as written, e.g. "*metav1.Time", "[]Container", "map[string]string"
    embedded: bool
    tags: dict[str, str]


@dataclass
class GoType:
    name: str
    struct: list[GoField] | None  # None for a named non-struct type
    underlying: str = ""
    has_type_meta: bool = False


def match_brace(src: str, i: int, open_c: str = "{", close_c: str = "}") -> int:
    """Index just past the bracket closing the one at src[i]."""
    depth = 0
    while True:
        c = src[i]
        if c in "`\"'":
            j = i + 1
            while src[j] != c:
                j += 2 if (src[j] == "\\" and c != "`") else 1
            i = j + 1
            continue
        depth += c == open_c
        depth -= c == close_c
        i += 1
        if depth == 0:
            return i


TAG_RE = re.compile(r'(\w+):"((?:[^"\\]|\\.)*)"')


def parse_struct_body(body: str) -> list[GoField]:
    fields = []
    i, n = 0, len(body)
    lines = []
    # Split into statements, keeping anonymous nested structs on one statement.
    start = 0
    while i < n:
        c = body[i]
        if c == "{":
            i = match_brace(body, i)
            continue
        if c == "`":
            i = body.find("`", i + 1) + 1
            continue
        if c == "\n" or c == ";":
            lines.append(body[start:i])
            start = i + 1
        i += 1
    lines.append(body[start:])
    for line in lines:
        line = line.strip()
        if not line:
            continue
        tags = {}
        m = re.search(r"`([^`]*)`\s*$", line)
        if m:
            tags = dict(TAG_RE.findall(m.group(1)))
            line = line[: m.start()].strip()
        if line.startswith("struct") or "struct {" in line or "struct{" in line:
            # Anonymous struct type: not present in API types that have a protobuf form.
            parts = line.split(None, 1)
            fields.append(GoField(parts[0], "struct{}", False, tags))
            continue
        parts = line.split()
        if len(parts) == 1:
            t = parts[0]
            name = t.lstrip("*").split(".")[-1]
            fields.append(GoField(name, t, True, tags))
        else:
            names_part = line[: line.rfind(parts[-1])].strip() if len(parts) > 2 and "," in line else parts[0]
            typ = parts[-1] if len(parts) > 2 and "," in line else " ".join(parts[1:])
            for nm in names_part.split(","):
                fields.append(GoField(nm.strip(), typ, False, tags))
    return fields


def parse_go_types(src: str) -> dict[str, GoType]:
    src = strip_go_comments(src)
    types: dict[str, GoType] = {}

    def one(offset_src: str, at: int) -> int:
        """Parses `Name <type>` starting at index `at` of offset_src; returns the end index."""
        m = re.compile(r"(\w+)(\[\w+\s+[^\]]*\])?\s*(=\s*)?").match(offset_src, at)
        name = m.group(1)
        j = m.end()
        if offset_src.startswith("struct", j) and re.match(r"struct\s*\{", offset_src[j:]):
            k = offset_src.index("{", j)
            end = match_brace(offset_src, k)
            fields = parse_struct_body(offset_src[k + 1 : end - 1])
            t = GoType(name, fields)
            t.has_type_meta = any(f.embedded and f.type.split(".")[-1] == "TypeMeta" for f in fields)
            types[name] = t
            return end
        end = offset_src.find("\n", j)
        end = len(offset_src) if end < 0 else end
        underlying = offset_src[j:end].strip()
        if underlying.startswith("interface"):
            k = offset_src.index("{", j)
            return match_brace(offset_src, k)
        types[name] = GoType(name, None, underlying)
        return end

    for m in re.finditer(r"^type\s+", src, re.M):
        at = m.end()
        if src.startswith("(", at):
            end = match_brace(src, at, "(", ")")
            block = src[at + 1 : end - 1]
            i = 0
            while True:
                mm = re.compile(r"\s*(\w)").search(block, i)
                if not mm:
                    break
                i = one(block, mm.start(1))
        else:
            one(src, at)
    return types


def parse_tag_json(tags: dict[str, str], go_name: str) -> tuple[str | None, bool]:
    j = tags.get("json")
    if j is None:
        return go_name, False
    parts = j.split(",")
    if parts[0] == "-" and len(parts) == 1:
        return None, False
    return parts[0], "omitempty" in parts[1:]


def parse_tag_protobuf(tags: dict[str, str]) -> tuple[int, str, str] | None:
    p = tags.get("protobuf")
    if not p or p == "-":
        return None
    parts = p.split(",")
    name = ""
    for part in parts[3:]:
        if part.startswith("name="):
            name = part[5:]
    return int(parts[1]), parts[0], name


def group_name(src: Source, pkg_dir: str) -> str:
    for f in src.go_files(pkg_dir):
        text = src.read(f)
        m = re.search(r"^// \+groupName=(\S*)\s*$", text, re.M)
        if m:
            return m.group(1)
    for f in src.go_files(pkg_dir):
        m = re.search(r'\bGroupName\s*=\s*"([^"]*)"', src.read(f))
        if m:
            return m.group(1)
    raise SystemExit(f"no group name for {pkg_dir}")


# ---------------------------------------------------------------------------------------------
# The joined model

# Field kinds; the order is the Rust `Kind` enum's.
KINDS = ["string", "bool", "int32", "int64", "uint32", "uint64", "double", "float", "bytes", "message"]

# Field flags (Rust `flags` constants).
REPEATED = 1  # repeated field (JSON array)
MAP = 2  # map<string, V> (JSON object)
NULLABLE = 4  # Go pointer (or nil-able slice type): written and emitted only when set
OMITEMPTY = 8  # `json:",omitempty"`: a zero scalar is left out of the JSON
INLINE = 16  # embedded struct whose fields are flattened into the parent's JSON object
NO_JSON = 32  # `json:"-"`: on the wire only

# Messages whose JSON form is not an object of their fields; the order is the Rust
# `Special` enum's. Keyed by fully-qualified proto name.
SPECIALS = {
    "k8s.io.apimachinery.pkg.apis.meta.v1.Time": "Time",
    "k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime": "MicroTime",
    "k8s.io.apimachinery.pkg.apis.meta.v1.Duration": "Duration",
    "k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1": "RawJson",
    "k8s.io.apimachinery.pkg.runtime.RawExtension": "RawExtension",
    "k8s.io.apimachinery.pkg.api.resource.Quantity": "Quantity",
    "k8s.io.apimachinery.pkg.api.resource.QuantityValue": "Quantity",
    "k8s.io.apimachinery.pkg.util.intstr.IntOrString": "IntOrString",
    "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSON": "RawJson",
    "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrBool": "SchemaOrBool",
    "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrArray": "SchemaOrArray",
    "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrStringArray": "SchemaOrStringArray",
}
SPECIAL_ORDER = [
    "None",
    "Time",
    "MicroTime",
    "Duration",
    "Quantity",
    "IntOrString",
    "RawExtension",
    "RawJson",
    "SchemaOrBool",
    "SchemaOrArray",
    "SchemaOrStringArray",
    "WrappedArray",
]

# meta/v1 kinds that every group version knows (metav1.AddToGroupVersion): option types and
# WatchEvent are registered in each group version, Status & co. as unversioned "v1" types.
META_EVERYWHERE = ["WatchEvent", "ListOptions", "GetOptions", "DeleteOptions", "CreateOptions", "UpdateOptions", "PatchOptions"]
META_UNVERSIONED = ["Status", "APIVersions", "APIGroupList", "APIGroup", "APIResourceList"]


@dataclass
class Field:
    number: int
    json: str
    kind: str
    flags: int
    message: str | None  # fully-qualified proto name for message kinds


@dataclass
class Message:
    full: str
    fields: list[Field]
    special: str = "None"


@dataclass
class Package:
    source: Source
    dir: str
    group: str | None  # None: not an API group (runtime, resource, intstr)
    version: str


def discover_packages(api: Source, machinery: Source, ext: Source, agg: Source) -> list[Package]:
    pkgs = []
    for f in api.files:
        if f.endswith("/generated.proto") and "testdata" not in f:
            d = os.path.dirname(f)
            pkgs.append(Package(api, d, group_name(api, d), os.path.basename(d)))
    pkgs.append(Package(machinery, "pkg/apis/meta/v1", "meta.k8s.io", "v1"))
    for d in ["pkg/runtime", "pkg/api/resource", "pkg/util/intstr"]:
        pkgs.append(Package(machinery, d, None, ""))
    pkgs.append(Package(ext, "pkg/apis/apiextensions/v1", "apiextensions.k8s.io", "v1"))
    pkgs.append(Package(agg, "pkg/apis/apiregistration/v1", "apiregistration.k8s.io", "v1"))
    return sorted(pkgs, key=lambda p: (p.source.root, p.dir))


class GoUniverse:
    """Parsed Go packages by import path, so that `type MatchCondition v1.MatchCondition` resolves."""

    def __init__(self, sources: list[Source]):
        self.roots = {
            "k8s.io/api/": sources[0],
            "k8s.io/apimachinery/": sources[1],
            "k8s.io/apiextensions-apiserver/": sources[2],
            "k8s.io/kube-aggregator/": sources[3],
        }
        self.cache: dict[tuple[str, str], tuple[dict[str, GoType], dict[str, str]]] = {}

    def package(self, src: Source, pkg_dir: str) -> tuple[dict[str, GoType], dict[str, str]]:
        key = (src.root, pkg_dir)
        if key not in self.cache:
            types: dict[str, GoType] = {}
            imports: dict[str, str] = {}
            for f in src.go_files(pkg_dir):
                text = src.read(f)
                for alias, path in re.findall(r'^\s*(?:import\s+)?(\w+\s+)?"([\w./-]+)"\s*$', text, re.M):
                    imports[alias.strip() or path.rsplit("/", 1)[-1]] = path
                types.update(parse_go_types(text))
            self.cache[key] = (types, imports)
        return self.cache[key]

    def resolve(self, src: Source, pkg_dir: str, expr: str, depth: int = 0) -> GoType | None:
        """The Go type that a (possibly qualified) type name denotes, following named types."""
        types, imports = self.package(src, pkg_dir)
        expr = expr.lstrip("*")
        if "." in expr:
            alias, name = expr.split(".", 1)
            path = imports.get(alias)
            if path is None:
                return None
            for prefix, other in self.roots.items():
                if path.startswith(prefix):
                    src, pkg_dir = other, path[len(prefix) :]
                    types = self.package(src, pkg_dir)[0]
                    break
            else:
                return None
        else:
            name = expr
        t = types.get(name)
        if t is not None and t.struct is None and depth < 5 and re.fullmatch(r"[\w.]+", t.underlying):
            # `type A B`: A has B's fields (and B's JSON form).
            inner = self.resolve(src, pkg_dir, t.underlying, depth + 1)
            if inner is not None:
                return inner
        return t


def build(pkgs: list[Package], universe: GoUniverse):
    messages: dict[str, Message] = {}
    kinds: list[tuple[str, str, str]] = []  # (apiVersion, kind, message)
    problems: list[str] = []
    for pkg in pkgs:
        protos = parse_proto(pkg.source.read(f"{pkg.dir}/generated.proto"))
        for pm in protos:
            gt = universe.resolve(pkg.source, pkg.dir, pm.name)
            if gt is None:
                problems.append(f"{pm.full}: no Go type")
                continue
            special = SPECIALS.get(pm.full, "None")
            if special == "None" and gt.struct is None:
                # A named slice type that protobuf wraps in a message with `items`.
                if gt.underlying.startswith("[]") and len(pm.fields) == 1 and pm.fields[0].label == "repeated":
                    special = "WrappedArray"
                else:
                    problems.append(f"{pm.full}: Go type `{gt.underlying}` is not a struct")
                    continue
            fields = []
            go_by_number = {}
            for gf in gt.struct or []:
                pt = parse_tag_protobuf(gf.tags)
                if pt:
                    go_by_number[pt[0]] = (gf, pt)
            for pf in sorted(pm.fields, key=lambda f: f.number):
                kind = pf.type if pf.type in SCALARS else "message"
                flags = {"repeated": REPEATED, "map": MAP}.get(pf.label, 0)
                jname = pf.name
                # Special messages are converted by hand-written code that addresses their
                # fields by number; their Go types hold no JSON field information.
                if special == "None":
                    if pf.number not in go_by_number:
                        problems.append(f"{pm.full}.{pf.name}: no Go field with protobuf tag {pf.number}")
                        continue
                    gf, (_, _, pname) = go_by_number[pf.number]
                    if pname and pname != pf.name:
                        problems.append(f"{pm.full}.{pf.name}: Go tag names it {pname}")
                    jn, omitempty = parse_tag_json(gf.tags, gf.name)
                    if omitempty:
                        flags |= OMITEMPTY
                    if jn is None:
                        flags |= NO_JSON
                        jname = pf.name
                    elif jn == "" and gf.embedded:
                        if gf.type.startswith("*") or kind != "message" or flags & (REPEATED | MAP):
                            problems.append(f"{pm.full}.{pf.name}: unsupported inline field {gf.type}")
                            continue
                        flags |= INLINE
                        jname = ""
                    else:
                        jname = jn or gf.name
                    t = gf.type
                    if t.startswith("*"):
                        flags |= NULLABLE
                    elif kind == "message" and not flags & (REPEATED | MAP):
                        # A named slice type (ExtraValue, Verbs) is nil-able like a pointer.
                        target = universe.resolve(pkg.source, pkg.dir, t)
                        if t.startswith("[]") or (target is not None and target.struct is None and target.underlying.startswith("[]")):
                            flags |= NULLABLE
                fields.append(Field(pf.number, jname, kind, flags, pf.type if kind == "message" else None))
            messages[pm.full] = Message(pm.full, fields, special)
            if pkg.group is not None and gt.has_type_meta:
                api_version = f"{pkg.group}/{pkg.version}" if pkg.group else pkg.version
                kinds.append((api_version, pm.name, pm.full))
    meta = "k8s.io.apimachinery.pkg.apis.meta.v1"
    kinds.append(("meta.k8s.io/v1", "WatchEvent", f"{meta}.WatchEvent"))
    for k in META_UNVERSIONED:
        kinds.append(("v1", k, f"{meta}.{k}"))
    for f in messages.values():
        for fl in f.fields:
            if fl.message and fl.message not in messages:
                problems.append(f"{f.full}: unknown message {fl.message}")
    return messages, kinds, problems


def reachable(messages: dict[str, Message], roots: list[str]) -> list[str]:
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        m = stack.pop()
        if m in seen or m not in messages:
            continue
        seen.add(m)
        for f in messages[m].fields:
            if f.message:
                stack.append(f.message)
    return sorted(seen)


# ---------------------------------------------------------------------------------------------
# Cross-check against k8s-pb's prost structs


def cross_check(k8s_pb: str, messages: dict[str, Message]) -> list[str]:
    """Compares field numbers, types, repeated-ness and map value types with k8s-pb's prost
    attributes, e.g. `#[prost(btree_map = "string, message", tag = "11")]`."""
    by_pkg: dict[str, dict[str, dict[int, tuple[str, bool]]]] = {}
    for dirpath, _, files in os.walk(k8s_pb):
        for fn in files:
            if not fn.endswith(".rs"):
                continue
            rel = os.path.relpath(dirpath, k8s_pb).split(os.sep)
            text = open(os.path.join(dirpath, fn), encoding="utf-8").read()
            structs: dict[str, dict[int, tuple[str, bool]]] = {}
            cur = None
            for line in text.split("\n"):
                m = re.match(r"pub struct (\w+) \{", line)
                if m:
                    cur = structs.setdefault(m.group(1).lower(), {})
                    continue
                m = re.search(r"#\[prost\((.*)\)\]", line)
                if not m or cur is None:
                    continue
                attr = m.group(1)
                tag = re.search(r'tag = "(\d+)"', attr)
                if not tag:
                    continue
                kind = re.match(r"\w+", attr).group(0)
                mv = re.search(r'map = "string, (\w+)"', attr)
                if mv:
                    kind = "map:" + mv.group(1)
                cur[int(tag.group(1))] = (kind, "repeated" in attr.split(", "))
            by_pkg[".".join(rel)] = structs
    problems = []
    checked = 0
    for full, msg in messages.items():
        parts = full.split(".")
        # k8s.io.api.core.v1.Pod -> api.core.v1 / pod
        structs = by_pkg.get(".".join(parts[2:-1]))
        if structs is None or parts[-1].lower() not in structs:
            continue
        theirs = structs[parts[-1].lower()]
        for f in msg.fields:
            t = theirs.get(f.number)
            if t is None:
                continue  # a field newer than k8s-pb
            checked += 1
            if f.flags & MAP:
                mine = ("map:" + f.kind, False)
            else:
                mine = (f.kind, bool(f.flags & REPEATED))
            if mine != t:
                problems.append(f"k8s-pb: {full} #{f.number} is {t}, table says {mine}")
    print(f"k8s-pb cross-check: {checked} fields compared", file=sys.stderr)
    return problems


# Known, explained differences from k8s-openapi 0.29 (Kubernetes 1.34):
# - WatchEvent is hand-written there (an enum whose bookmark variant reads metadata).
# - DeviceTaintSelector lost fields upstream after 1.34 (alpha API).
KNOWN_JSON_DIFFERENCES = {
    "k8s.io.apimachinery.pkg.apis.meta.v1.WatchEvent",
    "k8s.io.api.resource.v1alpha3.DeviceTaintSelector",
}


def check_json_names(k8s_openapi: str, messages: dict[str, Message]) -> list[str]:
    """Compares each message's JSON member names (inlined structs flattened) with the keys
    that k8s-openapi's (independently generated) serde code reads for the same type."""
    problems = []
    checked = 0

    def json_keys(msg: Message) -> set[str]:
        keys = set()
        for f in msg.fields:
            if f.flags & NO_JSON:
                continue
            if f.flags & INLINE:
                keys |= json_keys(messages[f.message])
            else:
                keys.add(f.json)
        return keys

    for full, msg in messages.items():
        if msg.special != "None" or full in KNOWN_JSON_DIFFERENCES:
            continue
        parts = full.split(".")
        # k8s.io.api.core.v1.Pod -> api/core/v1/pod.rs
        snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", parts[-1]).lower()
        path = os.path.join(k8s_openapi, *parts[2:-1], snake + ".rs")
        if not os.path.exists(path):
            continue
        text = open(path, encoding="utf-8").read()
        theirs = set(re.findall(r'"([^"]+)" => Field::Key_', text)) - {"apiVersion", "kind"}
        if not theirs:
            continue
        checked += 1
        mine = json_keys(msg)
        # Fields newer than k8s-openapi are fine; names it has that we lack are not.
        missing = theirs - mine
        if missing:
            problems.append(f"k8s-openapi: {full} lacks JSON members {sorted(missing)}")
    print(f"k8s-openapi cross-check: {checked} messages compared", file=sys.stderr)
    return problems


# ---------------------------------------------------------------------------------------------
# Output


def rust_str_chunks(s: str, width: int = 96) -> str:
    lines = []
    for i in range(0, len(s), width):
        lines.append(s[i : i + width])
    return "\\\n".join(lines)


def emit(messages: dict[str, Message], order: list[str], kinds, sources: list[Source]) -> str:
    index = {name: i for i, name in enumerate(order)}
    names: dict[str, int] = {}
    blob: list[str] = []
    size = 0

    def intern(s: str) -> tuple[int, int]:
        nonlocal size
        if not s.isascii() or '"' in s or "\\" in s:
            raise SystemExit(f"name {s!r} cannot go into the names blob")
        if s not in names:
            names[s] = size
            blob.append(s)
            size += len(s.encode())
        return names[s], len(s.encode())

    msg_rows, field_rows = [], []
    for name in order:
        m = messages[name]
        pkg, _, short = m.full.rpartition(".")
        poff, pln = intern(pkg)
        noff, nln = intern(short)
        if len(m.fields) > 255 or pln > 255 or nln > 255:
            raise SystemExit(f"{name}: too many fields or too long a name for the table")
        msg_rows.append(f"m({poff}, {pln}, {noff}, {nln}, {len(field_rows)}, {len(m.fields)}, {m.special}),")
        for f in m.fields:
            if f.number >= 1 << 16:
                raise SystemExit(f"{name}: field number {f.number} too large")
            foff, fln = intern(f.json)
            if fln > 255:
                raise SystemExit(f"{name}: JSON name too long")
            msg = index[f.message] if f.message else 0
            kind = KINDS.index(f.kind)
            field_rows.append(f"f({f.number}, {foff}, {fln}, {kind}, {f.flags}, {msg}),")
    kind_rows = []
    for api_version, kind, msg in sorted(set(kinds)):
        if msg not in index:
            continue
        a = intern(api_version)
        k = intern(kind)
        kind_rows.append(f"k({a[0]}, {a[1]}, {k[0]}, {k[1]}, {index[msg]}),")
    if len(order) >= 1 << 16 or len(field_rows) >= 1 << 16 or size >= 1 << 32:
        raise SystemExit("table too large for its index types")
    header = [
        "// @generated by tools/gen-proto-schema.py: do not edit.",
        "//",
        "// Regenerate with:",
        "//   python3 tools/gen-proto-schema.py \\",
        "//     --api /work/.mirror/kubernetes+api/repo \\",
        "//     --apimachinery /work/.mirror/kubernetes+apimachinery/repo \\",
        "//     --apiextensions /work/.mirror/kubernetes+apiextensions-apiserver/repo \\",
        "//     --aggregator /work/.mirror/kubernetes+kube-aggregator/repo \\",
        "//     --out crates/krs-proto/src/schema.rs",
        "//   (add --k8s-pb <cargo registry>/k8s-pb-0.9.0/src and --k8s-openapi <...>/k8s-openapi-0.29.0/src/v1_34",
        "//   to cross-check wire types against k8s-pb's prost structs and JSON names against k8s-openapi)",
        "//",
        "// Sources (commits of k8s.io/api, apimachinery, apiextensions-apiserver, kube-aggregator):",
    ]
    for s in sources:
        header.append(f"//   {s.rev}")
    header += [
        f"// {len(order)} messages, {len(field_rows)} fields, {len(kind_rows)} kinds, {size} bytes of names.",
        "",
        "use crate::table::Special::*;",
        "use crate::table::{f, k, m, FieldDef, KindDef, MessageDef};",
        "",
        f'pub(crate) static NAMES: &str = "{rust_str_chunks("".join(blob))}";',
        "",
        f"pub(crate) static MESSAGES: [MessageDef; {len(msg_rows)}] = [",
        *("    " + r for r in msg_rows),
        "];",
        "",
        f"pub(crate) static FIELDS: [FieldDef; {len(field_rows)}] = [",
        *("    " + r for r in field_rows),
        "];",
        "",
        "/// Sorted by (apiVersion, kind) for binary search.",
        f"pub(crate) static KINDS: [KindDef; {len(kind_rows)}] = [",
        *("    " + r for r in kind_rows),
        "];",
        "",
    ]
    return "\n".join(header)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--api", required=True)
    ap.add_argument("--apimachinery", required=True)
    ap.add_argument("--apiextensions", required=True)
    ap.add_argument("--aggregator", required=True)
    ap.add_argument("--k8s-pb")
    ap.add_argument("--k8s-openapi", help="k8s-openapi's src/v1_34, to cross-check JSON names")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    sources = [Source(args.api), Source(args.apimachinery), Source(args.apiextensions), Source(args.aggregator)]
    pkgs = discover_packages(*sources)
    messages, kinds, problems = build(pkgs, GoUniverse(sources))
    # Every group version also knows meta/v1's option types and WatchEvent.
    meta = "k8s.io.apimachinery.pkg.apis.meta.v1"
    group_versions = sorted({av for av, _, _ in kinds})
    for av in group_versions:
        for k in META_EVERYWHERE:
            kinds.append((av, k, f"{meta}.{k}"))
    # The special messages are kept even when no kind uses them (metav1.Duration), so that
    # decode_message/encode_message can address them.
    roots = sorted({msg for _, _, msg in kinds} | {m for m in SPECIALS if m in messages})
    order = reachable(messages, roots)
    if args.k8s_pb:
        problems += cross_check(os.path.expanduser(args.k8s_pb), {n: messages[n] for n in order})
    if args.k8s_openapi:
        problems += check_json_names(os.path.expanduser(args.k8s_openapi), {n: messages[n] for n in order})
    relevant = [p for p in problems if any(p.startswith(n + ":") or p.startswith(n + ".") or n in p for n in order)]
    for p in problems:
        print(("error: " if p in relevant else "note (unused message): ") + p, file=sys.stderr)
    if relevant:
        raise SystemExit(f"{len(relevant)} problems")
    text = emit(messages, order, kinds, sources)
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {args.out}: {len(order)} messages, {len(kinds)} kind entries", file=sys.stderr)


if __name__ == "__main__":
    main()
