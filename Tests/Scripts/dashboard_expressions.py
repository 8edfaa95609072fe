#!/usr/bin/env python3
"""Print every PromQL expression of Dalston's deploy files as one JSON array on stdout.

Sources:
  * deploy/grafana/dashboards/*.json: the `expr` of every panel target, panels nested in
    collapsed rows included;
  * deploy/prometheus/rules/*.yml: the `expr` of every recording and alerting rule.

Dashboard expressions are made plain PromQL that runs against real data: the range variables
($interval, ${interval}, $__rate_interval, $__interval, $__range) become `5m` (`1h` for $__range),
and a template variable used as a label matcher's value (`engine_id=~"$engine_id"`,
`service="${service}"`, `${var:regex}`) matches everything (`engine_id=~".*"`).

Usage: dashboard_expressions.py [--dashboards-only | --rules-only] [--without-alerts] [--with-source] [--root DIR]
  --without-alerts  leave out alert conditions (they return nothing while all is well), keeping the
                    dashboards and recording rules, which return data on a live deployment
  --with-source     print objects {"source": "<file>: <panel or rule>", "kind": "dashboard" | "record"
                    | "alert", "expr": "..."} instead of strings

Needs PyYAML (`pip install pyyaml`, Debian: python3-yaml).
"""
import argparse
import glob
import json
import os
import re
import sys

try:
    import yaml
except ImportError:  # pragma: no cover - depends on the machine
    sys.exit("dashboard_expressions.py needs PyYAML: pip install pyyaml (Debian: apt-get install python3-yaml)")

RANGE_VARIABLES = {
    "interval": "5m",
    "__rate_interval": "5m",
    "__interval": "5m",
    "__range": "1h",
}

# label="$var", label=~"${var}", label!~"${var:regex}" ... -> label=~".*" / label!~".*"
_MATCHER_WITH_VARIABLE = re.compile(
    r'(?P<label>[A-Za-z_][A-Za-z0-9_]*)\s*(?P<op>=~|!~|!=|=)\s*"(?P<value>[^"]*(?:\$|\[\[)[^"]*)"'
)
# $name or ${name} or ${name:format} or [[name]]
_VARIABLE = re.compile(r"\$\{(?P<braced>[A-Za-z0-9_]+)(?::[^}]*)?\}|\$(?P<plain>[A-Za-z0-9_]+)|\[\[(?P<old>[A-Za-z0-9_]+)\]\]")


def _replace_matcher(match):
    label, op = match.group("label"), match.group("op")
    # Any value built from a template variable may stand for several values: make it a regex
    # that matches every value. `!=`/`!~` would then exclude everything; keep them negative but
    # matching nothing instead, so the expression still returns data.
    if op in ("=", "=~"):
        return f'{label}=~".*"'
    return f'{label}!~""' if op == "!~" else f'{label}!=""'


def _replace_range_variable(match):
    name = match.group("braced") or match.group("plain") or match.group("old")
    if name in RANGE_VARIABLES:
        return RANGE_VARIABLES[name]
    return match.group(0)


def plain_promql(expr):
    """A dashboard expression with Grafana's template variables replaced."""
    expr = _VARIABLE.sub(_replace_range_variable, expr)
    expr = _MATCHER_WITH_VARIABLE.sub(_replace_matcher, expr)
    return expr


def _panels(panels):
    for panel in panels or []:
        yield panel
        # Collapsed rows keep their panels inside the row.
        yield from _panels(panel.get("panels"))


def dashboard_expressions(root):
    out = []
    for path in sorted(glob.glob(os.path.join(root, "deploy/grafana/dashboards/*.json"))):
        rel = os.path.relpath(path, root)
        with open(path, encoding="utf-8") as f:
            dashboard = json.load(f)
        for panel in _panels(dashboard.get("panels")):
            for target in panel.get("targets") or []:
                expr = target.get("expr")
                if expr:
                    source = f'{rel}: panel {panel.get("id")} "{panel.get("title", "")}" target {target.get("refId", "?")}'
                    out.append({"source": source, "kind": "dashboard", "expr": plain_promql(expr)})
    return out


def rule_expressions(root):
    out = []
    for path in sorted(glob.glob(os.path.join(root, "deploy/prometheus/rules/*.yml"))):
        rel = os.path.relpath(path, root)
        with open(path, encoding="utf-8") as f:
            document = yaml.safe_load(f) or {}
        for group in document.get("groups") or []:
            for rule in group.get("rules") or []:
                expr = rule.get("expr")
                if expr is None:
                    continue
                name = rule.get("record") or rule.get("alert")
                kind = "record" if "record" in rule else "alert"
                out.append({"source": f'{rel}: group {group.get("name")} {kind} {name}', "kind": kind, "expr": str(expr).strip()})
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--dashboards-only", action="store_true", help="only the Grafana dashboards")
    only.add_argument("--rules-only", action="store_true", help="only the Prometheus rule files")
    parser.add_argument("--without-alerts", action="store_true", help="leave out alert conditions")
    parser.add_argument("--with-source", action="store_true", help="print {source, kind, expr} objects")
    parser.add_argument("--root", default=os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")),
                        help="repository root (default: two levels above this script)")
    args = parser.parse_args(argv)

    items = []
    if not args.rules_only:
        items += dashboard_expressions(args.root)
    if not args.dashboards_only:
        items += rule_expressions(args.root)
    if args.without_alerts:
        items = [item for item in items if item["kind"] != "alert"]
    json.dump(items if args.with_source else [item["expr"] for item in items], sys.stdout, indent=2 if args.with_source else None)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
