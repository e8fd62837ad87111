#!/usr/bin/env python3
"""Renders chat templates exactly as Hugging Face transformers' apply_chat_template does.

Reference for core/tests/chat_template_reference.rs. Reads a JSON list of cases from stdin:
  {"template", "messages", "add_generation_prompt", "bos_token", "eos_token", "tools", "now"}
and writes a JSON list of {"ok": text} or {"error": message}. Needs jinja2 (pip install jinja2).
"""
import json
import sys
from datetime import datetime, timezone

try:
    import jinja2
    from jinja2.ext import loopcontrols
    from jinja2.sandbox import ImmutableSandboxedEnvironment
except ImportError:
    sys.stderr.write("jinja2 is not installed: run `python3 -m pip install jinja2`\n")
    sys.exit(3)


class TemplateRaised(Exception):
    pass


def raise_exception(message):
    raise TemplateRaised(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    # transformers.utils.chat_template_utils: json.dumps, not jinja2's HTML-safe tojson.
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def render(case):
    now = case.get("now")

    def strftime_now(fmt):
        # transformers uses local time; the Rust side formats UTC, so the test pins both.
        t = datetime.fromtimestamp(now, tz=timezone.utc) if now is not None else datetime.now()
        return t.strftime(fmt)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    template = env.from_string(case["template"])
    return template.render(
        messages=case["messages"],
        tools=case.get("tools"),
        documents=None,
        add_generation_prompt=case["add_generation_prompt"],
        bos_token=case.get("bos_token", ""),
        eos_token=case.get("eos_token", ""),
    )


def main():
    out = []
    for case in json.load(sys.stdin):
        try:
            out.append({"ok": render(case)})
        except TemplateRaised as e:
            out.append({"error": str(e)})
        except jinja2.TemplateError as e:
            out.append({"error": f"{type(e).__name__}: {e}"})
    json.dump(out, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
