#!/usr/bin/env python3
"""Generates crates/krs-api/src/merge/schema.rs, the patch-metadata table of the built-in types.

Strategic merge patch, server-side apply and the OpenAPI document all need, per field of every
API struct, the same facts that upstream keeps on its Go types:

- the JSON name, whether the field is a Go pointer / omitempty, and whether it was promoted from
  an embedded struct (`json:",inline"`, whose fields are flattened into the parent's JSON);
- the value's shape: a leaf (scalar or a type with custom JSON such as metav1.Time), a struct,
  a list of X or a map of X;
- the struct tags `patchStrategy:"merge|retainKeys|replace"` and `patchMergeKey:"..."`;
- the comment markers `+listType=atomic|set|map`, `+listMapKey=...` (repeatable),
  `+mapType=atomic|granular` and `+structType=atomic|granular`, on the field or on the
  declaration of its (named) type.

This script reads the Go sources of k8s.io/api, apimachinery, apiextensions-apiserver and
kube-aggregator, keeps every struct reachable from a top-level kind, and writes one compact
static table plus an index from (apiVersion, kind) to the kind's struct.

Usage:
    python3 tools/gen-patch-metadata.py \\
        --api /work/.mirror/kubernetes+api/repo \\
        --apimachinery /work/.mirror/kubernetes+apimachinery/repo \\
        --apiextensions /work/.mirror/kubernetes+apiextensions-apiserver/repo \\
        --aggregator /work/.mirror/kubernetes+kube-aggregator/repo \\
        [--k8s-openapi ~/.cargo/registry/src/<index>/k8s-openapi-0.29.0/src/v1_34] \\
        --out crates/krs-api/src/merge/schema.rs

Each source may be a git directory (read at HEAD, no work tree needed) or a checked-out tree.
--k8s-openapi, when given, cross-checks list types, list map keys and map types against the
DeepMerge code of k8s-openapi (generated independently, from upstream's OpenAPI document) and
prints every disagreement; fields that changed upstream after that release are expected there.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field

# ---------------------------------------------------------------------------------------------
# Reading sources (git object store or plain tree)


class Source:
    def __init__(self, root: str, module: str):
        self.root = root
        self.module = module  # Go module path, e.g. "k8s.io/api"
        self.git = not os.path.exists(os.path.join(root, "go.mod"))
        if self.git:
            self.rev = self._git("rev-parse", "HEAD").strip()
            self.files = [n for n in self._git("ls-tree", "-r", "HEAD", "--name-only").split("\n") if n]
        else:
            self.rev = "work tree"
            self.files = []
            for dirpath, _, filenames in os.walk(root):
                for f in filenames:
                    self.files.append(os.path.relpath(os.path.join(dirpath, f), root))

    def _git(self, *args: str) -> str:
        return subprocess.run(["git", "-C", self.root, *args], check=True, capture_output=True, text=True).stdout

    def read(self, path: str) -> str:
        if self.git:
            return self._git("show", f"HEAD:{path}")
        with open(os.path.join(self.root, path), encoding="utf-8") as f:
            return f.read()

    def go_files(self, pkg_dir: str) -> list[str]:
        out = []
        for f in self.files:
            d, base = os.path.split(f)
            if d != pkg_dir or not base.endswith(".go"):
                continue
            if (
                base.endswith("_test.go")
                or base.startswith("zz_generated")
                or base == "generated.pb.go"
                or base.endswith("_generated.go")
            ):
                continue
            out.append(f)
        return sorted(out)


# ---------------------------------------------------------------------------------------------
# A small Go lexer and parser: type declarations with their doc comments, nothing else.

TOKEN_RE = re.compile(
    r"""
    (?P<nl>\n)
  | (?P<ws>[ \t\r]+)
  | (?P<line_comment>//[^\n]*)
  | (?P<block_comment>/\*.*?\*/)
  | (?P<raw>`[^`]*`)
  | (?P<str>"(?:[^"\\\n]|\\.)*")
  | (?P<rune>'(?:[^'\\\n]|\\.)*')
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<num>[0-9][0-9A-Za-z_.]*)
  | (?P<op>\.\.\.|<-|:=|&&|\|\||[-+*/%&|^<>=!]=?|[{}()\[\],;:.~])
    """,
    re.S | re.X,
)


@dataclass
class Tok:
    kind: str  # ident | str | raw | num | op | nl
    text: str
    line: int


def lex(src: str) -> tuple[list[Tok], dict[int, str]]:
    """Tokens (comments dropped) and the text of every line that holds only a `//` comment."""
    toks: list[Tok] = []
    comment_lines: dict[int, str] = {}
    line = 1
    line_has_code = False
    pos = 0
    while pos < len(src):
        m = TOKEN_RE.match(src, pos)
        if not m:
            raise ValueError(f"cannot lex at line {line}: {src[pos:pos + 20]!r}")
        kind = m.lastgroup
        text = m.group(0)
        pos = m.end()
        if kind == "nl":
            toks.append(Tok("nl", "\n", line))
            line += 1
            line_has_code = False
        elif kind == "ws":
            pass
        elif kind == "line_comment":
            if not line_has_code:
                comment_lines[line] = text[2:]
        elif kind == "block_comment":
            n = text.count("\n")
            if n:
                toks.append(Tok("nl", "\n", line))
            line += n
        else:
            toks.append(Tok(kind, text, line))
            line_has_code = True
    return toks, comment_lines


def doc_comment(comment_lines: dict[int, str], line: int) -> list[str]:
    """The comment group directly above `line` (gofmt'd code: one comment per line)."""
    out = []
    ln = line - 1
    while ln in comment_lines:
        out.append(comment_lines[ln])
        ln -= 1
    out.reverse()
    return out


# Type expressions: ("named", pkg_alias_or_None, name) | ("ptr", T) | ("slice", T)
# | ("map", K, V) | ("struct", [GoField]) | ("interface",) | ("func",)


@dataclass
class GoField:
    name: str  # Go name ("" never; embedded fields take the type's name)
    type: tuple
    embedded: bool
    tag: str
    doc: list[str]


@dataclass
class GoTypeDecl:
    name: str
    type: tuple
    doc: list[str]


class Parser:
    def __init__(self, toks: list[Tok], comment_lines: dict[int, str]):
        self.t = toks
        self.i = 0
        self.comments = comment_lines

    def peek(self, k: int = 0) -> Tok | None:
        j = self.i + k
        return self.t[j] if j < len(self.t) else None

    def next(self) -> Tok:
        tok = self.t[self.i]
        self.i += 1
        return tok

    def expect(self, text: str) -> Tok:
        tok = self.next()
        if tok.text != text:
            raise ValueError(f"line {tok.line}: expected {text!r}, got {tok.text!r}")
        return tok

    def skip_nl(self) -> None:
        while self.peek() is not None and self.peek().kind == "nl":
            self.i += 1

    def type_expr(self) -> tuple:
        tok = self.next()
        if tok.text == "*":
            return ("ptr", self.type_expr())
        if tok.text == "[":
            if self.peek().text == "]":
                self.next()
            else:  # array: [N]T, treated as a list
                while self.next().text != "]":
                    pass
            return ("slice", self.type_expr())
        if tok.text == "map":
            self.expect("[")
            k = self.type_expr()
            self.expect("]")
            return ("map", k, self.type_expr())
        if tok.text == "struct":
            self.expect("{")
            return ("struct", self.struct_body())
        if tok.text == "interface":
            self.expect("{")
            self.skip_balanced("{", "}")
            return ("interface",)
        if tok.text == "func":
            self.expect("(")
            self.skip_balanced("(", ")")
            return ("func",)
        if tok.kind == "ident":
            t = ("named", None, tok.text)
            if self.peek() is not None and self.peek().text == ".":
                self.next()
                t = ("named", tok.text, self.next().text)
            if self.peek() is not None and self.peek().text == "[":
                # A generic instantiation (unique.Handle[string]): only unexported
                # implementation details use them, which merging never looks at.
                self.next()
                self.skip_balanced("[", "]")
                return ("generic", t)
            return t
        raise ValueError(f"line {tok.line}: unexpected {tok.text!r} in a type")

    def skip_balanced(self, open_c: str, close_c: str) -> None:
        """Skips to just past the bracket closing an already consumed `open_c`."""
        depth = 1
        while depth:
            tok = self.next()
            depth += tok.text == open_c
            depth -= tok.text == close_c

    def struct_body(self) -> list[GoField]:
        fields: list[GoField] = []
        while True:
            self.skip_nl()
            tok = self.peek()
            if tok.text == "}":
                self.next()
                return fields
            if tok.text == ";":
                self.next()
                continue
            line = tok.line
            doc = doc_comment(self.comments, line)
            # Embedded: [*]Name or [*]pkg.Name, followed by a tag, newline, ';' or '}'. A field
            # name is never qualified, so `pkg.` also means embedded.
            after = self.peek(1)
            embedded = (
                tok.text == "*"
                or after is None
                or after.text in (".", ";", "}")
                or after.kind in ("nl", "raw", "str")
            )
            if embedded:
                t = self.type_expr()
                tag = self.tag()
                named = t[1] if t[0] == "ptr" else t
                if named[0] != "named":
                    raise ValueError(f"line {line}: embedded field of type {t}")
                fields.append(GoField(named[2], t, True, tag, doc))
                continue
            names = [self.next().text]
            while self.peek().text == ",":
                self.next()
                names.append(self.next().text)
            t = self.type_expr()
            tag = self.tag()
            for n in names:
                fields.append(GoField(n, t, False, tag, doc))

    def tag(self) -> str:
        tok = self.peek()
        if tok is not None and tok.kind in ("raw", "str"):
            self.next()
            return tok.text[1:-1]
        return ""

    def decls(self) -> list[GoTypeDecl]:
        out: list[GoTypeDecl] = []
        depth = 0
        while self.peek() is not None:
            tok = self.next()
            if tok.text in ("{", "(", "["):
                depth += 1
            elif tok.text in ("}", ")", "]"):
                depth -= 1
            elif depth == 0 and tok.text == "type":
                if self.peek().text == "(":
                    self.next()
                    while True:
                        self.skip_nl()
                        if self.peek().text == ")":
                            self.next()
                            break
                        out.append(self.type_spec())
                else:
                    out.append(self.type_spec())
        return out

    def type_spec(self) -> GoTypeDecl:
        name = self.next()
        doc = doc_comment(self.comments, name.line)
        if self.peek().text == "=":
            self.next()
        return GoTypeDecl(name.text, self.type_expr(), doc)


TAG_RE = re.compile(r'(\w+):"((?:[^"\\]|\\.)*)"')


def parse_tag(tag: str) -> dict[str, str]:
    return dict(TAG_RE.findall(tag))


MARKER_RE = re.compile(r"^\s*\+(listType|listMapKey|mapType|structType)=(\S+)\s*$")


@dataclass
class Markers:
    list_type: str = ""
    list_map_keys: list[str] = field(default_factory=list)
    map_type: str = ""
    struct_type: str = ""


def parse_markers(doc: list[str], where: str) -> Markers:
    m = Markers()
    for line in doc:
        mm = MARKER_RE.match(line)
        if not mm:
            continue
        key, val = mm.group(1), mm.group(2)
        if key == "listType":
            if val not in ("atomic", "set", "map"):
                raise SystemExit(f"{where}: +listType={val}")
            m.list_type = val
        elif key == "listMapKey":
            m.list_map_keys.append(val)
        elif key == "mapType":
            if val not in ("atomic", "granular"):
                raise SystemExit(f"{where}: +mapType={val}")
            m.map_type = val
        else:
            if val not in ("atomic", "granular"):
                raise SystemExit(f"{where}: +structType={val}")
            m.struct_type = val
    return m


# ---------------------------------------------------------------------------------------------
# Packages and type resolution


@dataclass
class Package:
    source: Source
    dir: str
    import_path: str
    types: dict[str, GoTypeDecl]
    imports: dict[str, str]  # alias -> import path
    group: str | None = None  # API group ("" for core); None: not an API group version
    version: str = ""

    @property
    def model_package(self) -> str:
        """OpenAPI definition-name prefix: k8s.io/api/core/v1 -> io.k8s.api.core.v1."""
        host, _, rest = self.import_path.partition("/")
        return ".".join(reversed(host.split("."))) + "." + rest.replace("/", ".")


IMPORT_RE = re.compile(r'^\s*(?:import\s+)?(\w+\s+|\.\s+|_\s+)?"([\w./-]+)"\s*$', re.M)


class Universe:
    def __init__(self, sources: list[Source]):
        self.sources = sources
        self.packages: dict[str, Package] = {}

    def package(self, import_path: str) -> Package | None:
        if import_path in self.packages:
            return self.packages[import_path]
        for src in self.sources:
            if import_path == src.module or import_path.startswith(src.module + "/"):
                pkg_dir = import_path[len(src.module) + 1 :]
                break
        else:
            return None
        types: dict[str, GoTypeDecl] = {}
        imports: dict[str, str] = {}
        for f in src.go_files(pkg_dir):
            text = src.read(f)
            for alias, path in IMPORT_RE.findall(text):
                alias = alias.strip()
                if alias in ("_", "."):
                    continue
                imports[alias or path.rsplit("/", 1)[-1]] = path
            toks, comments = lex(text)
            try:
                decls = Parser(toks, comments).decls()
            except (ValueError, IndexError) as e:
                raise SystemExit(f"{src.root}:{f}: {e}")
            for d in decls:
                types[d.name] = d
        pkg = Package(src, pkg_dir, import_path, types, imports)
        self.packages[import_path] = pkg
        return pkg


# Leaf types: custom JSON (or none at all) for which merging never looks inside. The order is
# the Rust `Scalar` enum's.
SCALARS = [
    "String",
    "Bytes",
    "Bool",
    "Int32",
    "Int64",
    "Number",
    "Time",
    "MicroTime",
    "Duration",
    "Quantity",
    "IntOrString",
    "RawExtension",
    "FieldsV1",
    "Json",
    "SchemaOrBool",
    "SchemaOrArray",
    "SchemaOrStringArray",
]

LEAF_TYPES = {
    ("k8s.io/apimachinery/pkg/apis/meta/v1", "Time"): "Time",
    ("k8s.io/apimachinery/pkg/apis/meta/v1", "MicroTime"): "MicroTime",
    ("k8s.io/apimachinery/pkg/apis/meta/v1", "Duration"): "Duration",
    ("k8s.io/apimachinery/pkg/apis/meta/v1", "FieldsV1"): "FieldsV1",
    ("k8s.io/apimachinery/pkg/api/resource", "Quantity"): "Quantity",
    ("k8s.io/apimachinery/pkg/util/intstr", "IntOrString"): "IntOrString",
    ("k8s.io/apimachinery/pkg/runtime", "RawExtension"): "RawExtension",
    ("k8s.io/apimachinery/pkg/runtime", "Object"): "RawExtension",
    ("k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1", "JSON"): "Json",
    ("k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1", "JSONSchemaPropsOrBool"): "SchemaOrBool",
    ("k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1", "JSONSchemaPropsOrArray"): "SchemaOrArray",
    ("k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1", "JSONSchemaPropsOrStringArray"): "SchemaOrStringArray",
    ("time", "Duration"): "Int64",
}

BUILTINS = {
    "string": "String",
    "bool": "Bool",
    "int8": "Int32",
    "int16": "Int32",
    "int32": "Int32",
    "uint8": "Int32",
    "byte": "Int32",
    "uint16": "Int32",
    "int": "Int64",
    "int64": "Int64",
    "uint": "Int64",
    "uint32": "Int64",
    "uint64": "Int64",
    "float32": "Number",
    "float64": "Number",
}


@dataclass
class Shape:
    """A value's shape: ("scalar", name) | ("struct", key) | ("list", Shape) | ("map", Shape)."""

    kind: str
    arg: object
    # Markers of the named type that this shape was reached through (type-level markers).
    markers: Markers | None = None
    # The Go kind upstream's struct lookup sees: a pointer is transparent for list lookups.
    pointer: bool = False

    def key(self) -> tuple:
        if self.kind in ("list", "map"):
            return (self.kind, self.arg.key())
        return (self.kind, self.arg)


class Resolver:
    def __init__(self, universe: Universe):
        self.u = universe
        self.structs: dict[tuple[str, str], list[GoField]] = {}
        self.struct_markers: dict[tuple[str, str], Markers] = {}
        self.struct_pkg: dict[tuple[str, str], Package] = {}

    def shape(self, pkg: Package, t: tuple, where: str, depth: int = 0) -> Shape:
        if depth > 20:
            raise SystemExit(f"{where}: type recursion too deep")
        kind = t[0]
        if kind == "ptr":
            s = self.shape(pkg, t[1], where, depth + 1)
            return Shape(s.kind, s.arg, s.markers, True)
        if kind == "slice":
            if t[1] == ("named", None, "byte") or t[1] == ("named", None, "uint8"):
                return Shape("scalar", "Bytes")
            return Shape("list", self.shape(pkg, t[1], where, depth + 1))
        if kind == "map":
            return Shape("map", self.shape(pkg, t[2], where, depth + 1))
        if kind == "struct":
            raise SystemExit(f"{where}: anonymous struct types are not supported")
        if kind == "interface":
            # interface{} (Table cells): any JSON value.
            return Shape("scalar", "Json")
        if kind in ("func", "generic"):
            raise SystemExit(f"{where}: {kind} types are not supported")
        _, alias, name = t
        if alias is None:
            if name in BUILTINS and name not in pkg.types:
                return Shape("scalar", BUILTINS[name])
            if name == "any" and name not in pkg.types:
                return Shape("scalar", "Json")
            target_pkg = pkg
        else:
            path = pkg.imports.get(alias)
            if path is None:
                raise SystemExit(f"{where}: unknown import {alias}")
            leaf = LEAF_TYPES.get((path, name))
            if leaf:
                return Shape("scalar", leaf)
            target_pkg = self.u.package(path)
            if target_pkg is None:
                raise SystemExit(f"{where}: package {path} is not among the sources")
        leaf = LEAF_TYPES.get((target_pkg.import_path, name))
        if leaf:
            return Shape("scalar", leaf)
        decl = target_pkg.types.get(name)
        if decl is None:
            raise SystemExit(f"{where}: no type {name} in {target_pkg.import_path}")
        markers = parse_markers(decl.doc, f"{target_pkg.import_path}.{name}")
        if decl.type[0] == "struct":
            key = (target_pkg.import_path, name)
            if key not in self.structs:
                self.structs[key] = decl.type[1]
                self.struct_markers[key] = markers
                self.struct_pkg[key] = target_pkg
            return Shape("struct", key, markers)
        inner = self.shape(target_pkg, decl.type, f"{target_pkg.import_path}.{name}", depth + 1)
        # The nearest declaration's markers win (`type A B`: A's markers, then B's).
        merged = Markers(
            markers.list_type or (inner.markers.list_type if inner.markers else ""),
            markers.list_map_keys or (inner.markers.list_map_keys if inner.markers else []),
            markers.map_type or (inner.markers.map_type if inner.markers else ""),
            markers.struct_type or (inner.markers.struct_type if inner.markers else ""),
        )
        return Shape(inner.kind, inner.arg, merged, inner.pointer)


# ---------------------------------------------------------------------------------------------
# The table model

# Field flags (Rust `flags` constants).
POINTER = 1 << 0
OMITEMPTY = 1 << 1
INLINED = 1 << 2
PS_MERGE = 1 << 3
PS_RETAIN_KEYS = 1 << 4
PS_REPLACE = 1 << 5
LIST_SHIFT = 6  # 2 bits: 0 none, 1 atomic, 2 set, 3 map
MAP_SHIFT = 8  # 2 bits: 0 none, 1 atomic, 2 granular
STRUCT_SHIFT = 10  # 2 bits: 0 none, 1 atomic, 2 granular
LIST_TYPES = {"": 0, "atomic": 1, "set": 2, "map": 3}
ELEMENT_TYPES = {"": 0, "atomic": 1, "granular": 2}


@dataclass
class Field:
    json: str
    shape: Shape
    flags: int
    merge_key: str
    list_map_keys: list[str]


@dataclass
class Struct:
    key: tuple[str, str]
    model_package: str
    fields: list[Field]
    struct_type: str


def strategy_flags(strategy: str, where: str) -> int:
    if not strategy:
        return 0
    flags = 0
    parts = strategy.split(",")
    for p in parts:
        flags |= {"merge": PS_MERGE, "retainKeys": PS_RETAIN_KEYS, "replace": PS_REPLACE}.get(p, -1 << 20)
    # Upstream accepts one strategy, or two when one of them is retainKeys.
    valid = len(parts) == 1 or (len(parts) == 2 and "retainKeys" in parts and parts[0] != parts[1])
    if flags < 0 or not valid:
        raise SystemExit(f"{where}: patchStrategy {strategy!r} is not one upstream accepts")
    return flags


def build_struct(res: Resolver, key: tuple[str, str], depth: int = 0) -> list[Field]:
    """The struct's JSON members in declaration order, embedded structs flattened in place."""
    pkg = res.struct_pkg[key]
    where = f"{key[0]}.{key[1]}"
    out: list[Field] = []
    for gf in res.structs[key]:
        tags = parse_tag(gf.tag)
        json_tag = tags.get("json")
        name = gf.name
        omitempty = False
        if json_tag is not None:
            parts = json_tag.split(",")
            if parts[0] == "-" and len(parts) == 1:
                continue
            name = parts[0]
            omitempty = "omitempty" in parts[1:]
        if not gf.name[:1].isupper() and not gf.embedded:
            continue  # unexported: encoding/json ignores it
        fw = f"{where}.{gf.name}"
        shape = res.shape(pkg, gf.type, fw)
        # encoding/json flattens an embedded struct that has no JSON name (`json:",inline"`,
        # `json:""` or no tag at all); any other embedded field is named after its type.
        if gf.embedded and (json_tag is None or name == "") and shape.kind == "struct":
            if depth > 10:
                raise SystemExit(f"{fw}: embedding too deep")
            for f in build_struct(res, shape.arg, depth + 1):
                out.append(Field(f.json, f.shape, f.flags | INLINED, f.merge_key, f.list_map_keys))
            continue
        if not name:
            name = gf.name
        m = parse_markers(gf.doc, fw)
        tm = shape.markers or Markers()
        list_type = m.list_type or tm.list_type
        keys = m.list_map_keys or tm.list_map_keys
        map_type = m.map_type or tm.map_type
        struct_type = m.struct_type or tm.struct_type
        flags = strategy_flags(tags.get("patchStrategy", ""), fw)
        if shape.pointer:
            flags |= POINTER
        if omitempty:
            flags |= OMITEMPTY
        flags |= LIST_TYPES[list_type] << LIST_SHIFT
        flags |= ELEMENT_TYPES[map_type] << MAP_SHIFT
        flags |= ELEMENT_TYPES[struct_type] << STRUCT_SHIFT
        if list_type == "map" and not keys:
            raise SystemExit(f"{fw}: +listType=map without +listMapKey")
        if keys and list_type != "map":
            raise SystemExit(f"{fw}: +listMapKey without +listType=map")
        out.append(Field(name, shape, flags, tags.get("patchMergeKey", ""), keys))
    # encoding/json: a field of the outer struct hides a promoted one of the same name.
    seen: dict[str, int] = {}
    result: list[Field] = []
    for f in out:
        if f.json in seen:
            prev = result[seen[f.json]]
            if prev.flags & INLINED and not f.flags & INLINED:
                result[seen[f.json]] = f
            elif not (f.flags & INLINED and not prev.flags & INLINED):
                raise SystemExit(f"{where}: two fields named {f.json!r}")
            continue
        seen[f.json] = len(result)
        result.append(f)
    return result


def group_of(pkg: Package) -> str | None:
    for f in pkg.source.go_files(pkg.dir):
        m = re.search(r"^// \+groupName=(\S*)\s*$", pkg.source.read(f), re.M)
        if m:
            return m.group(1)
    for f in pkg.source.go_files(pkg.dir):
        m = re.search(r'\bGroupName\s*=\s*"([^"]*)"', pkg.source.read(f))
        if m:
            return m.group(1)
    return None


def has_type_meta(decl: GoTypeDecl) -> bool:
    if decl.type[0] != "struct":
        return False
    for gf in decl.type[1]:
        if gf.embedded and gf.type[0] == "named" and gf.type[2] == "TypeMeta":
            return True
    return False


def api_packages(universe: Universe, api: Source) -> list[Package]:
    dirs = sorted({os.path.dirname(f) for f in api.files if f.endswith("/generated.proto") and "testdata" not in f})
    paths = [f"{api.module}/{d}" for d in dirs]
    paths += [
        "k8s.io/apimachinery/pkg/apis/meta/v1",
        "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1",
        "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1",
    ]
    out = []
    for p in paths:
        pkg = universe.package(p)
        group = group_of(pkg)
        if group is None:
            raise SystemExit(f"{p}: no group name")
        pkg.group = group
        pkg.version = os.path.basename(pkg.dir)
        out.append(pkg)
    return out


def build(universe: Universe, pkgs: list[Package]):
    res = Resolver(universe)
    kinds: list[tuple[str, str, tuple[str, str]]] = []
    for pkg in pkgs:
        for name, decl in sorted(pkg.types.items()):
            if not has_type_meta(decl) or not name[:1].isupper():
                continue
            shape = res.shape(pkg, ("named", None, name), f"{pkg.import_path}.{name}")
            api_version = f"{pkg.group}/{pkg.version}" if pkg.group else pkg.version
            kinds.append((api_version, name, shape.arg))
    # Resolving a struct's fields discovers further structs; loop until closed.
    structs: dict[tuple[str, str], Struct] = {}
    while True:
        todo = [k for k in res.structs if k not in structs]
        if not todo:
            break
        for key in todo:
            fields = build_struct(res, key)
            pkg = res.struct_pkg[key]
            structs[key] = Struct(key, pkg.model_package, fields, res.struct_markers[key].struct_type)
    # Inline-only structs (TypeMeta, ListMeta when only embedded) are kept too: harmless and
    # SSA/OpenAPI may name them.
    return structs, kinds


# ---------------------------------------------------------------------------------------------
# Cross-check against k8s-openapi's DeepMerge code


def snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


# Explained differences from k8s-openapi 0.29 (Kubernetes 1.34):
# - StatefulSetSpec.volumeClaimTemplates is +listType=atomic upstream; k8s-openapi's generator
#   special-cases it to merge by metadata.name.
# - resource.k8s.io/v1alpha3 DeviceTaintSelector lost fields upstream after 1.34 (alpha API).
KNOWN_DIFFERENCES = {
    "k8s.io/api/apps/v1.StatefulSetSpec.volumeClaimTemplates",
    "k8s.io/api/resource/v1alpha3.DeviceTaintSelector",
}


def cross_check(k8s_openapi: str, structs: dict[tuple[str, str], Struct]) -> tuple[int, list[str]]:
    """Compares JSON member names with the keys k8s-openapi's serde code reads, and list
    types (with map keys) and map types with k8s-openapi's merge strategies,
    e.g. `crate::merge_strategies::list::map(&mut self.containers, ..., &[|lhs, rhs| lhs.name
    == rhs.name], ...)` and `crate::merge_strategies::map::granular(&mut self.labels, ...)`."""
    problems = []
    checked = 0
    for s in structs.values():
        # io.k8s.api.core.v1 -> api/core/v1/pod_spec.rs
        rel = s.model_package.split(".")[2:]
        path = os.path.join(k8s_openapi, *[p.replace("-", "_") for p in rel], snake(s.key[1]) + ".rs")
        if not os.path.exists(path):
            continue
        text = open(path, encoding="utf-8").read()
        # JSON member names (embedded structs flattened): fields newer than k8s-openapi are
        # fine, names it has that the table lacks are not.
        their_names = set(re.findall(r'"([^"]+)" => Field::Key_', text)) - {"apiVersion", "kind"}
        missing = their_names - {f.json for f in s.fields}
        if missing and ".".join(s.key) not in KNOWN_DIFFERENCES:
            problems.append(f"{'.'.join(s.key)}: lacks JSON members {sorted(missing)}")
        checked += bool(their_names)
        body = text.split("impl crate::DeepMerge for", 1)[-1]
        theirs: dict[str, tuple[str, list[str]]] = {}
        for m in re.finditer(
            r"crate::merge_strategies::(list|map)::(\w+)\(\s*&mut self\.(\w+),(.*?)\);\n", body, re.S
        ):
            kind, strategy, rust_name, rest = m.groups()
            keys = re.findall(r"lhs\.(\w+) == rhs\.\w+", rest)
            theirs[rust_name] = (f"{kind}:{strategy}", keys)
        for f in s.fields:
            rust_name = snake(f.json).replace("-", "_")
            rust_name = {"type": "type_", "continue": "continue_", "ref": "ref_", "enum": "enum_", "default": "default"}.get(
                rust_name, rust_name
            )
            shape = f.shape
            mine = None
            if shape.kind == "list" and f.merge_key:
                # k8s-openapi merges by x-kubernetes-patch-merge-key when there is one.
                mine = ("list:map", [snake(f.merge_key)])
            elif shape.kind == "list":
                lt = (f.flags >> LIST_SHIFT) & 3
                mine = ("list:" + ["atomic", "atomic", "set", "map"][lt], [snake(k) for k in f.list_map_keys])
            elif shape.kind == "map":
                mt = (f.flags >> MAP_SHIFT) & 3
                mine = ("map:" + ["granular", "atomic", "granular"][mt], [])
            if mine is None:
                continue
            t = theirs.get(rust_name)
            if t is None:
                continue
            checked += 1
            their_keys = [k.rstrip("_") for k in t[1]]
            where = f"{'.'.join(s.key)}.{f.json}"
            if where in KNOWN_DIFFERENCES:
                continue
            if t[0] != mine[0] or (mine[0] == "list:map" and their_keys != mine[1]):
                problems.append(f"{'.'.join(s.key)}.{f.json}: k8s-openapi {t}, table {mine}")
    return checked, problems


# ---------------------------------------------------------------------------------------------
# Output


def rust_str_chunks(s: str, width: int = 96) -> str:
    return "\\\n".join(s[i : i + width] for i in range(0, len(s), width))


def emit(structs: dict[tuple[str, str], Struct], kinds, sources: list[Source]) -> str:
    order = sorted(structs, key=lambda k: (structs[k].model_package, k[1]))
    index = {k: i for i, k in enumerate(order)}
    names: dict[str, int] = {}
    blob: list[str] = []
    size = 0

    def intern(s: str) -> tuple[int, int]:
        nonlocal size
        if not s.isascii() or '"' in s or "\\" in s or len(s) > 255:
            raise SystemExit(f"name {s!r} cannot go into the names blob")
        if not s:
            return 0, 0
        if s not in names:
            names[s] = size
            blob.append(s)
            size += len(s)
        return names[s], len(s)

    # Shapes: the scalars first (in `Scalar` order), then every other shape once.
    shapes: list[tuple[int, int]] = []
    shape_index: dict[tuple, int] = {}
    for sc in SCALARS:
        shape_index[("scalar", sc)] = len(shapes)
        shapes.append((0, SCALARS.index(sc)))

    def shape_id(s: Shape) -> int:
        k = s.key()
        if k in shape_index:
            return shape_index[k]
        if s.kind == "struct":
            row = (1, index[s.arg])
        elif s.kind == "list":
            row = (2, shape_id(s.arg))
        elif s.kind == "map":
            row = (3, shape_id(s.arg))
        else:
            raise SystemExit(f"unknown shape {k}")
        shape_index[k] = len(shapes)
        shapes.append(row)
        return shape_index[k]

    struct_shapes = [shape_id(Shape("struct", k)) for k in order]
    type_rows, field_rows = [], []
    struct_types = {"": 0, "atomic": 1, "granular": 2}
    for k in order:
        s = structs[k]
        poff, pln = intern(s.model_package)
        noff, nln = intern(k[1])
        # Fields sorted by JSON name, so that lookups can bisect.
        fields = sorted(s.fields, key=lambda f: f.json.encode())
        if len(fields) > 255:
            raise SystemExit(f"{k}: too many fields")
        type_rows.append(
            f"t({poff}, {pln}, {noff}, {nln}, {len(field_rows)}, {len(fields)}, {struct_types[s.struct_type]}, {struct_shapes[index[k]]}),"
        )
        for f in fields:
            foff, fln = intern(f.json)
            koff, kln = intern(f.merge_key)
            loff, lln = intern(",".join(f.list_map_keys))
            field_rows.append(f"f({foff}, {fln}, {shape_id(f.shape)}, {f.flags}, {koff}, {kln}, {loff}, {lln}),")
    kind_rows = []
    for api_version, kind, key in sorted(set(kinds)):
        a = intern(api_version)
        kk = intern(kind)
        kind_rows.append(f"k({a[0]}, {a[1]}, {kk[0]}, {kk[1]}, {index[key]}),")
    shape_rows = [f"s({kind}, {arg})," for kind, arg in shapes]
    if len(order) >= 1 << 16 or len(field_rows) >= 1 << 16 or len(shapes) >= 1 << 16 or size >= 1 << 32:
        raise SystemExit("table too large for its index types")
    header = [
        "// @generated by tools/gen-patch-metadata.py: do not edit.",
        "//",
        "// Regenerate with:",
        "//   python3 tools/gen-patch-metadata.py \\",
        "//     --api /work/.mirror/kubernetes+api/repo \\",
        "//     --apimachinery /work/.mirror/kubernetes+apimachinery/repo \\",
        "//     --apiextensions /work/.mirror/kubernetes+apiextensions-apiserver/repo \\",
        "//     --aggregator /work/.mirror/kubernetes+kube-aggregator/repo \\",
        "//     --out crates/krs-api/src/merge/schema.rs",
        "//   (add --k8s-openapi <cargo registry>/k8s-openapi-0.29.0/src/v1_34 to cross-check list and",
        "//   map types against k8s-openapi's merge strategies)",
        "//",
        "// Sources (commits of k8s.io/api, apimachinery, apiextensions-apiserver, kube-aggregator):",
    ]
    for s in sources:
        header.append(f"//   {s.rev}")
    header += [
        f"// {len(order)} structs, {len(field_rows)} fields, {len(shapes)} shapes, {len(kind_rows)} kinds, "
        f"{size} bytes of names.",
        "",
        "use super::table::{FieldDef, KindDef, ShapeDef, TypeDef, f, k, s, t};",
        "",
        f'pub(super) static NAMES: &str = "{rust_str_chunks("".join(blob))}";',
        "",
        "/// Scalars first, in `Scalar` order; then structs, lists and maps.",
        f"pub(super) static SHAPES: [ShapeDef; {len(shape_rows)}] = [",
        *("    " + r for r in shape_rows),
        "];",
        "",
        f"pub(super) static TYPES: [TypeDef; {len(type_rows)}] = [",
        *("    " + r for r in type_rows),
        "];",
        "",
        "/// Each struct's fields are a contiguous run, sorted by JSON name.",
        f"pub(super) static FIELDS: [FieldDef; {len(field_rows)}] = [",
        *("    " + r for r in field_rows),
        "];",
        "",
        "/// Sorted by (apiVersion, kind) for binary search.",
        f"pub(super) static KINDS: [KindDef; {len(kind_rows)}] = [",
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
    ap.add_argument("--k8s-openapi", help="k8s-openapi's src/v1_34, to cross-check list and map types")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    sources = [
        Source(args.api, "k8s.io/api"),
        Source(args.apimachinery, "k8s.io/apimachinery"),
        Source(args.apiextensions, "k8s.io/apiextensions-apiserver"),
        Source(args.aggregator, "k8s.io/kube-aggregator"),
    ]
    universe = Universe(sources)
    pkgs = api_packages(universe, sources[0])
    structs, kinds = build(universe, pkgs)
    if args.k8s_openapi:
        checked, problems = cross_check(os.path.expanduser(args.k8s_openapi), structs)
        for p in problems:
            print("k8s-openapi disagrees: " + p, file=sys.stderr)
        print(f"k8s-openapi cross-check: {checked} structs and fields compared, {len(problems)} differ", file=sys.stderr)
    text = emit(structs, kinds, sources)
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {args.out}: {len(structs)} structs, {len(kinds)} kinds", file=sys.stderr)


if __name__ == "__main__":
    main()
