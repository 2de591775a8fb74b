"""Staff-written campaign templates, rendered in Jinja's sandbox with a documented set of variables; pure.

A campaign e-mail is text with variables and, at most, conditions: `{{ customer_name }}`, `{{ x|upper }}`,
`{% if ... %}`. Anything else (loops, calls, attributes, indexes, arithmetic) is refused before rendering, so no
template can run for long or grow without bound (`{% for %}` nested ten deep would, even in the sandbox). A template
that does not compile, names a variable not in the list or uses a refused construct raises `TemplateRefused` with the
part and a message staff can act on; the sandbox stays as a second line.
"""
from __future__ import annotations

from dataclasses import dataclass

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, UndefinedError, nodes
from jinja2.sandbox import SandboxedEnvironment, SecurityError

# name -> what it holds (shown to staff beside the template's fields)
VARIABLES = {
    "customer_name": "the account holder's name",
    "account_number": "the customer number",
    "utility_name": "the utility's name",
    "portal_url": "the address of the customer portal",
    "unsubscribe_url": "the one-click unsubscribe link (marketing campaigns)",
}
PARTS = ("subject", "text", "html")
MAX_OUTPUT = 200_000


class TemplateRefused(ValueError):
    """`part` (subject, text, html) cannot be used; `detail` says why, `line` where when known."""

    def __init__(self, part: str, code: str, detail: str, line: int | None = None):
        super().__init__(f"{part}: {detail}")
        self.part, self.code, self.detail, self.line = part, code, detail, line


# What a template may contain: text, variables, filters of the list below, conditions, comparisons, `{% set %}`.
_ALLOWED_NODES = (nodes.Template, nodes.Output, nodes.TemplateData, nodes.Name, nodes.Const, nodes.Filter, nodes.If,
                  nodes.Compare, nodes.Operand, nodes.And, nodes.Or, nodes.Not, nodes.Concat, nodes.CondExpr,
                  nodes.Test, nodes.Keyword, nodes.Assign, nodes.List, nodes.Tuple)
_ALLOWED_FILTERS = frozenset({"default", "d", "upper", "lower", "title", "capitalize", "trim", "e", "escape",
                              "truncate", "replace", "striptags"})
_ALLOWED_TESTS = frozenset({"defined", "undefined", "none", "eq", "ne", "equalto", "string", "number"})
_CONSTRUCTS = {nodes.For: "a loop", nodes.Call: "a call", nodes.Getattr: "an attribute", nodes.Getitem: "an index",
               nodes.Macro: "a macro", nodes.Include: "an include", nodes.Import: "an import",
               nodes.Extends: "extends", nodes.Block: "a block", nodes.CallBlock: "a call block",
               nodes.FilterBlock: "a filter block", nodes.With: "a with block", nodes.Slice: "a slice",
               nodes.BinExpr: "arithmetic", nodes.UnaryExpr: "arithmetic", nodes.Dict: "a dictionary"}


def _construct(node) -> str:
    for kind, name in _CONSTRUCTS.items():
        if isinstance(node, kind):
            return name
    return type(node).__name__


def _check_constructs(part: str, tree) -> None:
    for node in tree.find_all(nodes.Node):
        if isinstance(node, nodes.Filter) and node.name not in _ALLOWED_FILTERS:
            raise TemplateRefused(part, "not_allowed", f"the filter {node.name}", node.lineno)
        if isinstance(node, nodes.Test) and node.name not in _ALLOWED_TESTS:
            raise TemplateRefused(part, "not_allowed", f"the test {node.name}", node.lineno)
        if not isinstance(node, _ALLOWED_NODES):
            raise TemplateRefused(part, "not_allowed", _construct(node), node.lineno)


_text_env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
_html_env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=True, keep_trailing_newline=True)


@dataclass(frozen=True)
class Compiled:
    """A template per part, compiled once and rendered for each recipient."""

    subject: object
    text: object
    html: object | None


def compile_template(*, subject: str, text: str, html: str | None) -> Compiled:
    parts = {}
    for part, source, env in (("subject", subject, _text_env), ("text", text, _text_env), ("html", html, _html_env)):
        if source is None or (part == "html" and not source.strip()):
            parts[part] = None
            continue
        try:
            _check_constructs(part, env.parse(source))
            parts[part] = env.from_string(source)
        except TemplateSyntaxError as exc:
            raise TemplateRefused(part, "syntax", exc.message or "syntax error", exc.lineno) from exc
        except TemplateError as exc:
            raise TemplateRefused(part, "syntax", str(exc)) from exc
    return Compiled(parts["subject"], parts["text"], parts["html"])


def _render(part: str, template, values: dict) -> str:
    try:
        out = template.render(**values)
    except UndefinedError as exc:
        raise TemplateRefused(part, "unknown_variable", exc.message or "unknown variable") from exc
    except SecurityError as exc:
        raise TemplateRefused(part, "unsafe", str(exc)) from exc
    except TemplateError as exc:
        raise TemplateRefused(part, "error", str(exc)) from exc
    except Exception as exc:  # a filter given a wrong value ("{{ 1 / 0 }}", "{{ 'a' * 'b' }}"): still the template
        raise TemplateRefused(part, "error", f"{type(exc).__name__}: {exc}") from exc
    if len(out) > MAX_OUTPUT:
        raise TemplateRefused(part, "too_long", f"more than {MAX_OUTPUT} characters once rendered")
    return out


def render(compiled: Compiled, values: dict) -> tuple[str, str, str | None]:
    """(subject, text, html) for one recipient; `values` holds every name of VARIABLES."""
    subject = " ".join(_render("subject", compiled.subject, values).split())  # one line, whatever was typed
    text = _render("text", compiled.text, values)
    html = _render("html", compiled.html, values) if compiled.html is not None else None
    return subject, text, html


def check(*, subject: str, text: str, html: str | None) -> None:
    """Compile and render with example values: raises TemplateRefused on anything a send would fail on."""
    render(compile_template(subject=subject, text=text, html=html), example_values())


def example_values() -> dict:
    return {"customer_name": "Ada Lovelace", "account_number": "C0000001", "utility_name": "Utility",
            "portal_url": "https://portal.example", "unsubscribe_url": "https://portal.example/unsubscribe/x"}
