"""Templates compiled from jinja2's own syntax tree to plain Python, for the subset our JSON templates use.

jinja2 stays the source of truth and the fallback: a template using anything outside the subset (an
import, a call block, a set inside an if inside a loop...) is rendered by jinja2 itself. Within the
subset the compiled function does what jinja2's generated code does, in the same order (so the
same draws), through the same sandbox (attribute, item and call checks), with the same undefined
values, and writes the same text; it only drops jinja2's runtime bookkeeping (the context, Macro and
LoopContext objects, a generator per template, a filter call per value). Our `|j` filter compiles
to a direct call of the render's slot function.
"""

from __future__ import annotations

import keyword
import math
import operator
import re
import types
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from jinja2 import filters, nodes
from jinja2.runtime import Undefined
from jinja2.sandbox import SandboxedEnvironment
from jinja2.utils import _PassArg

# Filters that take a context only for its environment (tests, attribute lookup), never its names.
_CONTEXT_FOR_ENVIRONMENT = frozenset({"rejectattr", "selectattr", "reject", "select", "map"})
_LOOP_ATTRIBUTES = {
    "index": "({i} + 1)",
    "index0": "{i}",
    "first": "({i} == 0)",
    "last": "({i} == {n} - 1)",
    "length": "{n}",
    "revindex": "({n} - {i})",
    "revindex0": "({n} - {i} - 1)",
}
_COMPARE = {
    "eq": "==",
    "ne": "!=",
    "gt": ">",
    "gteq": ">=",
    "lt": "<",
    "lteq": "<=",
    "in": "in",
    "notin": "not in",
}
_BINARY: dict[type[nodes.BinExpr], str] = {
    nodes.Add: "+",
    nodes.Sub: "-",
    nodes.Mul: "*",
    nodes.Div: "/",
    nodes.FloorDiv: "//",
    nodes.Mod: "%",
    nodes.Pow: "**",
}
PLAIN_TYPES = frozenset({str, int, bool, type(None)})  # slot values kept as they are (and plain floats)
# A float kept as it is: zero, or finite and at least 1e-4 away from it (orjson writes those as json
# does; it writes 0.00001 where json writes 1e-05). put() takes the others (the encoder checks them).
PLAIN_FLOAT = "(_v == 0 or 1e-4 <= _v < 1e309 or -1e309 < _v <= -1e-4)"  # 1e309: infinity


def is_plain_float(value: float) -> bool:
    """PLAIN_FLOAT as a function."""
    return value == 0 or 1e-4 <= abs(value) < math.inf


DICT_ATTRIBUTES = frozenset(dir(dict))  # a plain dict's attributes: any other name of it is an item
_DICT_READERS = frozenset({"get", "keys", "items", "values"})
_JINJA_FILTERS = {"selectattr": filters.do_selectattr, "rejectattr": filters.do_rejectattr}
_MISSING = object()
# what a render's session always gives (they hide the context's names of the same name)
SESSION_NAMES = frozenset({"fake", "facts", "now", "ts", "opts", "profile"})
ORDERED_TOKEN = '"\\u0000"'  # every slot's token in a template whose slots fill in text order
# A line the generator writes after a binding: at assembly, the binding's dict flags (see dict_flag)
_BOUND = "\x00bound "
_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")


class Unsupported(Exception):
    """The template uses something outside the compiled subset: jinja2 renders it."""


@dataclass
class CompiledTemplate:
    """`render(session, context, event_type, slots, put)` -> the template's text in parts (joined, it
    is the text; as a tuple, a cheaper key for its shape: the constant parts are the same objects
    every time, their hashes kept); the names it sees
    are the session's, the event type, the context's, the template's globals. Its values go to
    `slots` (put() converts one that is not a plain scalar). `lines` maps a line of the code to the
    template's. `ordered`: every token is ORDERED_TOKEN and the slots are in text order (else the
    tokens are numbered)."""

    render: Callable[[dict[str, Any], Mapping[str, Any], str, list[Any], Callable[[Any], str]], list[str]]
    name: str
    filename: str
    lines: list[int]
    source: str
    ordered: bool
    names: frozenset[str]  # the names it reads from the session, the context and the globals


@dataclass
class _Scope:
    kind: str  # "top", "for", "macro"
    parent: _Scope | None
    names: dict[str, str] = field(default_factory=dict)  # jinja name -> python name
    pending: frozenset[str] = frozenset()  # assigned in this scope, not yet
    branch_assigned: frozenset[str] = frozenset()  # set only inside an if within this scope
    index: str = ""  # for loops: the names of the index and length
    length: str = ""
    uses_loop: bool = False


def _target_names(target: nodes.Node) -> list[str]:
    if isinstance(target, nodes.Name):
        return [target.name]
    return [n.name for n in target.find_all(nodes.Name)]


def _assigned_here(body: list[nodes.Node]) -> set[str]:
    """Names a body assigns at its own level (in ifs too); assignments deeper are checked where they are."""
    found: set[str] = set()
    for node in body:
        if isinstance(node, nodes.Assign):
            found.update(_target_names(node.target))
        elif isinstance(node, nodes.If):
            found |= _assigned_here(node.body)
            for branch in node.elif_:
                found |= _assigned_here(branch.body)
            found |= _assigned_here(node.else_)
    return found


@dataclass
class _Top:
    """The top level of the template, or of a module it imports with context (inlined where imported)."""

    alias: str | None  # the import's name for a module
    assigned: set[str]  # names its top level sets
    names: dict[str, str] = field(default_factory=dict)  # assigned name -> python name
    defined: set[str] = field(default_factory=set)  # set so far by straight-line top-level code
    all_macros: set[str] = field(default_factory=set)
    macros: dict[str, nodes.Macro] = field(default_factory=dict)  # defined so far
    macro_names: dict[str, str] = field(default_factory=dict)
    context_names: set[str] = field(default_factory=set)  # names it reads from the render's names


class _Generator:
    def __init__(
        self,
        env: SandboxedEnvironment,
        name: str,
        provider_methods: frozenset[str],
        load_source: Callable[[str], str] | None = None,
    ):
        self.env = env
        self.name = name
        self.provider_methods = provider_methods
        self.load_source = load_source
        self.lines: list[tuple[int, str, int]] = []  # (indent, code, template line; 0: a module's)
        self.indent = 1
        self.counter = 0
        self.resolved: dict[str, str] = {}  # context names resolved on entry
        self.constants: dict[str, Any] = {}
        self.main = _Top(None, set())
        self.top = self.main
        self.scope = _Scope("top", None)
        self.modules: dict[str, _Top] = {}
        self.branches = 0  # depth of ifs around the top-level code being generated
        self.provider_calls = False
        self.ordered = False
        self.in_module = False
        self.dict_names: set[str] = set()  # python names read with `.key`: each has a dict flag

    def bound(self, target: str, lineno: int) -> None:
        """After the binding of `target` (a name, or a tuple of them): their dict flags, where read."""
        self.line(_BOUND + target, lineno)

    # --- bookkeeping ------------------------------------------------------------------------
    def fresh(self, stem: str) -> str:
        self.counter += 1
        return f"{stem}_{self.counter}"

    def line(self, code: str, lineno: int) -> None:
        self.lines.append((self.indent, code, 0 if self.in_module else lineno))

    def constant(self, value: Any) -> str:
        name = self.fresh("k")
        self.constants[name] = value
        return name

    def position(self, node: nodes.Node) -> str:
        return f"line {node.lineno} in {self.name!r}"

    # --- names ------------------------------------------------------------------------------
    def context_name(self, name: str) -> str:
        """A name read from the render's names (resolved once, on entry)."""
        self.top.context_names.add(name)
        if name not in self.resolved:
            self.resolved[name] = f"n_{name}" if name.isidentifier() and name.isascii() else self.fresh("n")
        return self.resolved[name]

    def top_name(self, top: _Top, name: str) -> str:
        if name not in top.names:
            if top is self.main:
                top.names[name] = self.context_name(name)  # jinja2 resolves it until it is set
            else:
                top.names[name] = self.fresh(f"g_{name}" if name.isidentifier() else "g")
        return top.names[name]

    def load(self, name: str) -> str:
        scope = self.scope
        crossed = False  # into a function (macro or call block) that may run later
        while scope.kind != "top":
            if name in scope.names:
                return scope.names[name]
            if name in scope.pending:
                raise Unsupported(f"{name} is read before its set in the same scope")
            if name in scope.branch_assigned:
                raise Unsupported(f"{name} is read outside the branch that sets it")
            if scope.kind in ("macro", "caller"):
                crossed = True
            assert scope.parent is not None
            scope = scope.parent
        top = self.top
        if name in top.all_macros or (top is self.main and name in self.modules):
            raise Unsupported(f"{name} used as a value")
        if name in ("loop", "caller", "varargs", "kwargs"):
            raise Unsupported(f"special name {name}")
        if name in top.assigned:
            if crossed and name not in top.defined:
                raise Unsupported(f"a macro reads {name} before the template sets it")
            return self.top_name(top, name)
        return self.context_name(name)

    def store(self, name: str) -> str:
        scope = self.scope
        if name in self.top.all_macros or name == "loop":
            raise Unsupported(f"assignment to {name}")
        if scope.kind == "top":
            return self.top_name(self.top, name)
        if name not in scope.pending and name not in scope.names:
            raise Unsupported(f"{name} is set inside a branch of a loop or macro")
        python = scope.names.get(name) or self.fresh(f"v_{name}" if name.isidentifier() else "v")
        scope.names[name] = python
        return python

    # --- statements -------------------------------------------------------------------------
    def template(self, node: nodes.Template) -> tuple[str, list[int]]:
        self.main.assigned = _assigned_here(node.body)
        self.main.all_macros = {n.name for n in node.body if isinstance(n, nodes.Macro)}
        self.ordered = _in_output_order(node, self.main.all_macros)
        self.line("_p = []", 1)
        self.line("_e = _p.extend", 1)
        self.statements(node.body)
        self.line("return _p", 1)
        for module in self.modules.values():
            if module.context_names & self.main.assigned:
                raise Unsupported("a module reads a name the template sets")
        body = self.lines
        head = ["def render(session, context, event_type, slots, put):", "    _a = slots.append"]
        lines = [0, 1]
        for name, python in self.resolved.items():
            # the names a render sees: the session's over the event's context over the globals
            if name == "event_type":
                head.append(f"    {python} = event_type")
                lines.append(1)
            elif name in SESSION_NAMES:
                head.append(f"    {python} = session[{name!r}]")
                lines.append(1)
            else:
                head.append(f"    {python} = context.get({name!r}, _M)")
                head.append(f"    if {python} is _M: {python} = _G.get({name!r}, _M)")
                # one undefined value per name, made once: it holds nothing of a render
                undefined = self.constant(self.env.undefined(name=name))
                head.append(f"    if {python} is _M: {python} = {undefined}")
                lines += [1, 1, 1]
            if python in self.dict_names:
                head.append(f"    {dict_flag(python)} = type({python}) is dict")
                lines.append(1)
        if self.provider_calls:  # fake.method() calls the provider's method as the sandbox would
            head.append(f"    _check_provider({self.resolved['fake']})")
            lines.append(1)
        for indent, code, lineno in body:
            if code.startswith(_BOUND):
                flagged = [
                    name for name in _IDENTIFIER.findall(code[len(_BOUND) :]) if name in self.dict_names
                ]
                if not flagged:
                    continue
                code = "; ".join(f"{dict_flag(name)} = type({name}) is dict" for name in flagged)
            head.append("    " * indent + code)
            lines.append(lineno)
        return "\n".join(head) + "\n", lines

    def statements(self, body: list[nodes.Node]) -> None:
        for node in body:
            method = getattr(self, f"stmt_{type(node).__name__}", None)
            if method is None:
                raise Unsupported(f"{type(node).__name__} statement")
            method(node)

    def stmt_Import(self, node: nodes.Import) -> None:
        """`{% import "x.j2" as m with context %}`: the module's code inlined here, its top level
        in names of its own, its macros as functions (`m.macro()`), its exported sets (`m.NAME`)."""
        template = node.template
        alias = node.target
        if (
            not node.with_context
            or self.load_source is None
            or not isinstance(template, nodes.Const)
            or type(template.value) is not str
            or self.top is not self.main
            or self.scope.kind != "top"
            or self.branches
            or alias in self.main.assigned
            or alias in self.main.all_macros
            or alias in self.modules
        ):
            raise Unsupported("this import")
        source = self.load_source(template.value)
        tree = self.env.parse(source, template.value)
        module = _Top(alias, _assigned_here(tree.body))
        module.all_macros = {n.name for n in tree.body if isinstance(n, nodes.Macro)}
        if not _in_output_order(tree, module.all_macros):
            self.ordered = False
        for stmt in tree.body:
            if isinstance(stmt, nodes.Output):
                if not all(isinstance(child, nodes.TemplateData) for child in stmt.nodes):
                    raise Unsupported("a module that writes values")
            elif not isinstance(stmt, (nodes.Assign, nodes.Macro)):
                raise Unsupported(f"a module with {type(stmt).__name__}")
        saved = self.top, self.in_module
        self.top, self.in_module = module, True
        for name in sorted(module.assigned):  # its own top level, resolved as jinja2 resolves it
            python = self.top_name(module, name)
            source = self.context_name(name)  # the render's value, as the module's context has it
            self.line(f"{python} = {source}", node.lineno)
            self.bound(python, node.lineno)
        for stmt in tree.body:
            if not isinstance(stmt, nodes.Output):  # a module's own text goes nowhere
                self.statements([stmt])
        self.top, self.in_module = saved
        self.modules[alias] = module

    def stmt_CallBlock(self, node: nodes.CallBlock) -> None:
        """`{% call m(...) %}body{% endcall %}`: the body as a function, passed as m's caller."""
        python = self.fresh("caller")
        self.function(python, node.args, node.defaults, node.body, node.lineno, "caller", uses_caller=False)
        value = self.expr_Call(node.call, caller=python)
        if self.ordered:
            self.line(f"_p.append(str({value}))", node.lineno)
        else:
            self.line(f"_e((str({value}),))", node.lineno)

    def function(
        self,
        python: str,
        args: list[nodes.Name],
        defaults: list[nodes.Expr],
        body: list[nodes.Node],
        lineno: int,
        kind: str,
        *,
        uses_caller: bool,
    ) -> _Scope:
        """A macro or a call block's body as a Python function writing its own text."""
        outer = self.scope
        scope = _scope(kind, outer, body)
        params = []
        for arg in args:
            if arg.name == "caller":
                raise Unsupported("a parameter named caller")
            scope.names[arg.name] = _parameter(arg.name)
            params.append(f"{scope.names[arg.name]}=_M")
        if uses_caller:
            scope.names["caller"] = "p_caller"
            params.append("p_caller=_M")
        self.line(f"def {python}({', '.join(params)}):", lineno)
        self.indent += 1
        self.scope = scope
        first_default = len(args) - len(defaults)
        for index, arg in enumerate(args):
            local = scope.names[arg.name]
            if index >= first_default:
                default = self.expr(defaults[index - first_default])
            else:
                default = f"_U({f'parameter {arg.name!r} was not provided'!r}, name={arg.name!r})"
            self.line(f"if {local} is _M: {local} = {default}", lineno)
        if uses_caller:
            self.line("if p_caller is _M: p_caller = _U('No caller defined', name='caller')", lineno)
        self.bound(", ".join(scope.names[arg.name] for arg in args), lineno)
        self.line("_p = []", lineno)
        self.line("_e = _p.extend", lineno)
        self.statements(body)
        self.line("return ''.join(_p)", lineno)
        self.indent -= 1
        self.scope = outer
        return scope

    def stmt_Output(self, node: nodes.Output) -> None:
        if self.ordered:
            self.ordered_output(node)
            return
        self.line("_e((", node.lineno)
        self.indent += 1
        for child in node.nodes:
            if isinstance(child, nodes.TemplateData):
                self.line(f"{child.data!r},", child.lineno)
            elif isinstance(child, nodes.Filter) and child.name == "j" and child.node is not None:
                self.line(f"{self.expr(child)},", child.lineno)  # put() returns the token, a str
            else:
                self.line(f"{self.text_of(child)},", child.lineno)
        self.indent -= 1
        self.line("))", node.lineno)

    def ordered_output(self, node: nodes.Output) -> None:
        """Values go to the slots in text order, so every token is the same text (numbered once per
        shape): the text around them is constant, and a plain value is appended as it is."""
        text = ""
        for child in node.nodes:
            if isinstance(child, nodes.TemplateData):
                text += child.data
            elif isinstance(child, nodes.Filter) and child.name == "j" and child.node is not None:
                if child.args or child.kwargs or child.dyn_args or child.dyn_kwargs:
                    raise Unsupported("|j with arguments")
                self.line(f"_v = {self.expr(child.node)}", child.lineno)
                plain = f"type(_v) in _PLAIN or (type(_v) is float and {PLAIN_FLOAT})"
                self.line(f"if {plain}: _a(_v)", child.lineno)
                self.line("else: put(_v)", child.lineno)
                text += ORDERED_TOKEN
            else:
                value = self.text_of(child)
                code = f"_e(({text!r}, {value}))" if text else f"_p.append({value})"
                self.line(code, child.lineno)
                text = ""
        if text:
            self.line(f"_p.append({text!r})", node.lineno)

    def text_of(self, node: nodes.Expr) -> str:
        """The text an output writes of an expression: str() of its value. `{{ "," if not loop.last }}`
        writes "" at the last item (str() of the Undefined its missing else gives): written so, without
        making an Undefined and calling str() on each item."""
        if (
            isinstance(node, nodes.CondExpr)
            and node.expr2 is None
            and isinstance(node.expr1, nodes.Const)
            and type(node.expr1.value) is str
        ):
            return f"({node.expr1.value!r} if {self.expr(node.test)} else '')"
        return f"str({self.expr(node)})"

    def stmt_Assign(self, node: nodes.Assign) -> None:
        value = self.expr(node.node)
        target = self.target(node.target)
        self.line(f"{target} = {value}", node.lineno)
        self.bound(target, node.lineno)
        if self.scope.kind == "top" and not self.branches:
            self.top.defined.update(_target_names(node.target))

    def target(self, node: nodes.Node) -> str:
        if isinstance(node, nodes.Name):
            return self.store(node.name)
        if isinstance(node, nodes.Tuple):
            return "(" + "".join(self.target(item) + ", " for item in node.items) + ")"
        raise Unsupported(f"assignment to {type(node).__name__}")

    def stmt_If(self, node: nodes.If) -> None:
        self.line(f"if {self.expr(node.test)}:", node.lineno)
        self.block(node.body, node.lineno)
        for branch in node.elif_:
            self.line(f"elif {self.expr(branch.test)}:", branch.lineno)
            self.block(branch.body, branch.lineno)
        if node.else_:
            self.line("else:", node.lineno)
            self.block(node.else_, node.lineno)

    def block(self, body: list[nodes.Node], lineno: int) -> None:
        """A branch of an if. At the top level it shares the template's names, as in jinja2; inside a
        loop or function a name it sets is its own (read only after the set, in the branch)."""
        self.indent += 1
        self.line("pass", lineno)
        if self.scope.kind == "top":
            self.branches += 1
            self.statements(body)
            self.branches -= 1
        else:
            outer = self.scope
            self.scope = _scope("branch", outer, body)
            self.statements(body)
            self.scope = outer
        self.indent -= 1

    def stmt_For(self, node: nodes.For) -> None:
        if node.else_ or node.test is not None or node.recursive:
            raise Unsupported("for with else, a filter or recursion")
        iterable = self.expr(node.iter)  # in the enclosing scope
        if iterable.startswith("_select_equal("):  # walked once, here: the filter's list, not a generator
            iterable = "_select_equal_list(" + iterable[len("_select_equal(") :]
        outer = self.scope
        scope = _scope("for", outer, node.body)
        scope.index, scope.length = self.fresh("i"), self.fresh("n")
        self.scope = scope
        start = len(self.lines)
        scope.pending = scope.pending | frozenset(_target_names(node.target))
        target = self.target(node.target)
        self.indent += 1
        self.line("pass", node.lineno)
        self.bound(target, node.lineno)
        self.statements(node.body)
        self.indent -= 1
        self.scope = outer
        body = self.lines[start:]
        del self.lines[start:]
        if scope.uses_loop:
            seq = self.fresh("seq")
            # jinja's LoopContext peeks one item ahead; a list or tuple is what every loop here walks
            self.line(f"{seq} = {iterable}", node.lineno)
            self.line(
                f"if type({seq}) is not list and type({seq}) is not tuple: {seq} = list({seq})", node.lineno
            )
            self.line(f"{scope.length} = len({seq})", node.lineno)
            self.line(f"for {scope.index}, {target} in enumerate({seq}):", node.lineno)
        else:
            self.line(f"for {target} in {iterable}:", node.lineno)
        self.lines.extend(body)

    def stmt_Macro(self, node: nodes.Macro) -> None:
        top = self.top
        if self.scope.kind != "top" or self.branches or self.indent != 1:
            raise Unsupported("a macro inside a block")
        if node.name in top.assigned or node.name in top.macros or node.name in self.modules:
            raise Unsupported(f"macro {node.name} shadows a name")
        used = {n.name for n in node.find_all(nodes.Name)}
        if used & {"varargs", "kwargs"}:
            raise Unsupported("a macro using varargs or kwargs")
        python = self.fresh(f"m_{node.name}" if node.name.isidentifier() else "m")
        self.function(
            python, node.args, node.defaults, node.body, node.lineno, "macro", uses_caller="caller" in used
        )
        top.macros[node.name] = node
        top.macro_names[node.name] = python

    # --- expressions ------------------------------------------------------------------------
    def expr(self, node: nodes.Node) -> str:
        method = getattr(self, f"expr_{type(node).__name__}", None)
        if method is None:
            if isinstance(node, nodes.BinExpr) and type(node) in _BINARY:
                return f"({self.expr(node.left)} {_BINARY[type(node)]} {self.expr(node.right)})"
            raise Unsupported(f"{type(node).__name__} expression")
        return str(method(node))

    def expr_Const(self, node: nodes.Const) -> str:
        value = node.value
        if value is None or type(value) in (bool, int, str):
            return repr(value)
        return self.constant(value)

    def expr_TemplateData(self, node: nodes.TemplateData) -> str:
        return repr(node.data)

    def expr_Name(self, node: nodes.Name) -> str:
        if node.ctx != "load":
            raise Unsupported("a name stored in an expression")
        return self.load(node.name)

    def expr_Getattr(self, node: nodes.Getattr) -> str:
        key = node.attr
        if isinstance(node.node, nodes.Name) and node.node.name == "loop":
            return self.loop_attribute(key)
        module = self.module_named(node.node)
        if module is not None:  # a module's exported set
            if key.startswith("_") or key not in module.assigned:
                raise Unsupported(f"{module.alias}.{key}")
            return self.top_name(module, key)
        obj = self.expr(node.node)
        if key in DICT_ATTRIBUTES or not key.isidentifier():
            return f"_ga({obj}, {key!r})"
        # a plain dict's item is what the sandbox returns for a key that is no attribute of dict
        if isinstance(node.node, nodes.Name) and obj.isidentifier():
            self.dict_names.add(obj)  # a name's type is tested once, where it is bound
            return f"({obj}[{key!r}] if {dict_flag(obj)} and {key!r} in {obj} else _ga({obj}, {key!r}))"
        return f"(_o[{key!r}] if type(_o := {obj}) is dict and {key!r} in _o else _ga(_o, {key!r}))"

    def loop_attribute(self, key: str) -> str:
        scope = self.scope
        while scope.kind == "branch" and scope.parent is not None:
            scope = scope.parent
        if scope.kind != "for" or key not in _LOOP_ATTRIBUTES:
            raise Unsupported(f"loop.{key} here")
        scope.uses_loop = True
        return _LOOP_ATTRIBUTES[key].format(i=scope.index, n=scope.length)

    def expr_Getitem(self, node: nodes.Getitem) -> str:
        if isinstance(node.arg, nodes.Slice):  # slices bypass the environment's getitem, as in jinja2
            return f"{self.expr(node.node)}[{self.expr(node.arg)}]"
        return f"_gi({self.expr(node.node)}, {self.expr(node.arg)})"

    def expr_Slice(self, node: nodes.Slice) -> str:
        parts = [self.expr(n) if n is not None else "" for n in (node.start, node.stop)]
        if node.step is not None:
            parts.append(self.expr(node.step))
        return ":".join(parts)

    def arguments(self, node: nodes.Call | nodes.Filter | nodes.Test) -> list[str]:
        """Arguments in the order jinja2 writes (and so evaluates) them."""
        if any(keyword.iskeyword(str(kw.key)) or not str(kw.key).isidentifier() for kw in node.kwargs):
            raise Unsupported("a keyword argument named as a Python keyword")
        out = [self.expr(arg) for arg in node.args]
        out += [f"{kw.key}={self.expr(kw.value)}" for kw in node.kwargs]
        if node.dyn_args is not None:
            out.append(f"*{self.expr(node.dyn_args)}")
        if node.dyn_kwargs is not None:
            out.append(f"**{self.expr(node.dyn_kwargs)}")
        return out

    def module_named(self, node: nodes.Node) -> _Top | None:
        if (
            isinstance(node, nodes.Name)
            and self.top is self.main
            and node.name in self.modules
            and not self._shadowed(node.name)
        ):
            return self.modules[node.name]
        return None

    def expr_Call(self, node: nodes.Call, caller: str | None = None) -> str:
        callee = node.node
        if (
            isinstance(callee, nodes.Name)
            and callee.name in self.top.macros
            and not self._shadowed(callee.name)
        ):
            return self.macro_call(self.top, callee.name, node, caller)
        if isinstance(callee, nodes.Getattr):
            module = self.module_named(callee.node)
            if module is not None:
                if callee.attr.startswith("_") or callee.attr not in module.macros:
                    raise Unsupported(f"{module.alias}.{callee.attr}()")
                return self.macro_call(module, callee.attr, node, caller)
        if caller is not None:
            raise Unsupported("a call block of something other than a macro")
        if isinstance(callee, nodes.Name) and callee.name == "caller" and self.load("caller") == "p_caller":
            return f"p_caller({', '.join(self.arguments(node))})"  # our own function, or undefined
        if (
            isinstance(callee, nodes.Getattr)
            and isinstance(callee.node, nodes.Name)
            and callee.node.name == "fake"
            and callee.attr in self.provider_methods
            and not self._shadowed("fake")
            and "fake" not in self.top.assigned
        ):
            # the provider's own public methods: what the sandbox allows and calls as they are
            fake = self.load("fake")
            self.provider_calls = True
            return f"_pcall({', '.join([f'{fake}.{callee.attr}', *self.arguments(node)])})"
        if isinstance(callee, nodes.Getattr) and callee.attr in _DICT_READERS:
            # a plain dict's get/keys/items/values: the sandbox allows them and calls them as they are
            obj = self.expr(callee.node)
            args = ", ".join(self.arguments(node))
            fallback = f"_call({', '.join([f'_ga(_o, {callee.attr!r})', *self.arguments(node)])})"
            return f"(_o.{callee.attr}({args}) if type(_o := {obj}) is dict else {fallback})"
        function = self.expr(callee)
        return f"_call({', '.join([function, *self.arguments(node)])})"

    def _shadowed(self, name: str) -> bool:
        scope: _Scope | None = self.scope
        while scope is not None:
            if name in scope.names or name in scope.pending:
                return True
            scope = scope.parent
        return False

    def macro_call(self, top: _Top, name: str, node: nodes.Call, caller: str | None) -> str:
        macro = top.macros[name]
        params = [arg.name for arg in macro.args]
        if node.dyn_args is not None or node.dyn_kwargs is not None or len(node.args) > len(params):
            raise Unsupported(f"call of macro {name} with extra arguments")
        given = params[: len(node.args)]
        for kw in node.kwargs:
            if kw.key not in params or kw.key in given:
                raise Unsupported(f"call of macro {name} with keyword {kw.key}")
            given.append(kw.key)
        if caller is not None and "caller" not in {n.name for n in macro.find_all(nodes.Name)}:
            raise Unsupported(f"a call block of macro {name}, which calls no caller")
        # in the call's own order, keywords by name (as jinja2 evaluates them)
        args = [self.expr(arg) for arg in node.args]
        args += [f"{_parameter(kw.key)}={self.expr(kw.value)}" for kw in node.kwargs]
        if caller is not None:
            args.append(f"p_caller={caller}")
        return f"{top.macro_names[name]}({', '.join(args)})"

    def expr_Filter(self, node: nodes.Filter) -> str:
        if node.node is None:
            raise Unsupported("filter block")
        value = self.expr(node.node)
        if node.name == "j":
            if node.args or node.kwargs or node.dyn_args or node.dyn_kwargs:
                raise Unsupported("|j with arguments")
            return f"put({value})"
        fast = self.select_equal(node, value)
        if fast is not None:
            return fast
        return self.filter_or_test(node, value, self.env.filters, "filter")

    def select_equal(self, node: nodes.Filter, value: str) -> str | None:
        """`xs|rejectattr("key", "equalto", v)` (or selectattr), as jinja2's filter does it, in one call."""
        args = node.args
        if (
            node.name not in ("selectattr", "rejectattr")
            or node.kwargs
            or node.dyn_args is not None
            or node.dyn_kwargs is not None
            or len(args) != 3
            or not all(isinstance(arg, nodes.Const) and type(arg.value) is str for arg in args[:2])
            or self.env.tests.get(args[1].value) is not operator.eq  # type: ignore[attr-defined]
            or self.env.filters.get(node.name) is not _JINJA_FILTERS[node.name]
        ):
            return None
        key = args[0].value  # type: ignore[attr-defined]
        if "." in key or key.isdigit():
            return None
        keep = node.name == "selectattr"
        return f"_select_equal({value}, {key!r}, {self.expr(args[2])}, {keep})"

    def expr_Test(self, node: nodes.Test) -> str:
        value = self.expr(node.node)
        if node.name == "none" and not node.args and not node.kwargs:
            return f"({value} is None)"
        return self.filter_or_test(node, value, self.env.tests, "test")

    def filter_or_test(self, node: nodes.Filter | nodes.Test, value: str, table: Any, kind: str) -> str:
        function = table.get(node.name)
        if function is None:
            raise Unsupported(f"no {kind} named {node.name}")
        pass_arg = _PassArg.from_obj(function)
        if pass_arg is _PassArg.context:
            if kind != "filter" or node.name not in _CONTEXT_FOR_ENVIRONMENT:
                raise Unsupported(f"{kind} {node.name} takes the context")
            lead = ["_ctx"]
        elif pass_arg is _PassArg.eval_context:
            lead = ["_ctx.eval_ctx"]
        elif pass_arg is _PassArg.environment:
            lead = ["_env"]
        else:
            lead = []
        python = self.constant(function)
        return f"{python}({', '.join([*lead, value, *self.arguments(node)])})"

    def expr_CondExpr(self, node: nodes.CondExpr) -> str:
        if node.expr2 is not None:
            other = self.expr(node.expr2)
        else:
            message = (
                f"the inline if-expression on {self.position(node)} evaluated to false"
                " and no else section was defined."
            )
            other = f"_CU({message!r})"
        return f"({self.expr(node.expr1)} if {self.expr(node.test)} else {other})"

    def expr_And(self, node: nodes.And) -> str:
        return f"({self.expr(node.left)} and {self.expr(node.right)})"

    def expr_Or(self, node: nodes.Or) -> str:
        return f"({self.expr(node.left)} or {self.expr(node.right)})"

    def expr_Not(self, node: nodes.Not) -> str:
        return f"(not {self.expr(node.node)})"

    def expr_Neg(self, node: nodes.Neg) -> str:
        return f"(-{self.expr(node.node)})"

    def expr_Pos(self, node: nodes.Pos) -> str:
        return f"(+{self.expr(node.node)})"

    def expr_Compare(self, node: nodes.Compare) -> str:
        parts = [self.expr(node.expr)]
        for operand in node.ops:
            parts.append(f"{_COMPARE[operand.op]} {self.expr(operand.expr)}")
        return f"({' '.join(parts)})"

    def expr_Concat(self, node: nodes.Concat) -> str:
        return f"_join(({''.join(self.expr(n) + ', ' for n in node.nodes)}))"

    def expr_List(self, node: nodes.List) -> str:
        return f"[{', '.join(self.expr(n) for n in node.items)}]"

    def expr_Tuple(self, node: nodes.Tuple) -> str:
        if node.ctx != "load":
            raise Unsupported("a tuple stored in an expression")
        return f"({''.join(self.expr(n) + ', ' for n in node.items)})"

    def expr_Dict(self, node: nodes.Dict) -> str:
        return "{" + ", ".join(f"{self.expr(p.key)}: {self.expr(p.value)}" for p in node.items) + "}"


def _in_output_order(template: nodes.Template, macros: set[str]) -> bool:
    """Whether every `|j` and every macro call is written where it is evaluated (a child of an
    output, or a call block's call), so slots fill in the order their tokens appear in the text."""
    direct = {id(child) for output in template.find_all(nodes.Output) for child in output.nodes}
    direct |= {id(block.call) for block in template.find_all(nodes.CallBlock)}
    aliases = {found.target for found in template.find_all(nodes.Import)}
    for found in template.find_all((nodes.Filter, nodes.Call)):
        is_slot = isinstance(found, nodes.Filter) and found.name == "j"
        callee = found.node if isinstance(found, nodes.Call) else None
        is_macro = (
            isinstance(callee, nodes.Name) and (callee.name in macros or callee.name == "caller")
        ) or (
            isinstance(callee, nodes.Getattr)
            and isinstance(callee.node, nodes.Name)
            and callee.node.name in aliases
        )
        if (is_slot or is_macro) and id(found) not in direct:
            return False
    return True


def dict_flag(python: str) -> str:
    """The name of the flag saying whether a python name holds a plain dict (set where it is bound)."""
    return f"D_{python}"


def _parameter(name: str) -> str:
    if not name.isidentifier() or not name.isascii():
        raise Unsupported(f"parameter name {name!r}")
    return f"p_{name}"


def _scope(kind: str, parent: _Scope, body: list[nodes.Node]) -> _Scope:
    direct = _direct_assignments(body)
    in_branches = _assigned_here(body) - direct
    if _assigned_here(body) & direct != direct or any(
        direct & _assigned_here(branch)
        for node in body
        if isinstance(node, nodes.If)
        for branch in _branches(node)
    ):
        raise Unsupported("a name set both in a branch and outside it")
    return _Scope(kind, parent, pending=frozenset(direct), branch_assigned=frozenset(in_branches))


def _branches(node: nodes.If) -> list[list[nodes.Node]]:
    return [node.body, *(branch.body for branch in node.elif_), node.else_]


def _direct_assignments(body: list[nodes.Node]) -> set[str]:
    """Names set at a loop's or macro's own level (a set in a branch inside it is not supported)."""
    found: set[str] = set()
    for node in body:
        if isinstance(node, nodes.Assign):
            found.update(_target_names(node.target))
    return found


def _selecting(env: SandboxedEnvironment) -> tuple[Callable[..., Iterator[Any]], Callable[..., list[Any]]]:
    """`xs|selectattr(key, "equalto", v)` (or rejectattr) as jinja2 gives it, and as a loop walks it."""
    getitem = env.getitem

    def select_equal(value: Any, key: str, other: Any, keep: bool) -> Iterator[Any]:
        """jinja2's select_or_reject with an attribute and the equalto test (a generator as well)."""
        if value:
            for item in value:
                found = item[key] if type(item) is dict and key in item else getitem(item, key)
                if bool(found == other) is keep:
                    yield item

    def select_equal_list(value: Any, key: str, other: Any, keep: bool) -> list[Any]:
        """The same items at once, for a loop that walks them all (no generator to resume per item)."""
        if not value:
            return []
        return [
            item
            for item in value
            if bool((item[key] if type(item) is dict and key in item else getitem(item, key)) == other)
            is keep
        ]

    return select_equal, select_equal_list


def _str_join(parts: tuple[Any, ...]) -> str:
    return "".join(map(str, parts))


def compile_template(
    env: SandboxedEnvironment,
    name: str,
    source: str,
    filename: str,
    context: Any,
    provider_type: type,
    load_source: Callable[[str], str] | None = None,
    template_globals: dict[str, Any] | None = None,
) -> CompiledTemplate | None:
    """The template as a Python function, or None when it uses something outside the subset."""
    methods = frozenset(
        attr
        for klass in provider_type.__mro__
        for attr, value in vars(klass).items()
        if not attr.startswith("_") and isinstance(value, types.FunctionType)
    )
    generator = _Generator(env, name, methods, load_source)
    try:
        code, lines = generator.template(env.parse(source, name, filename))
    except Unsupported:
        return None

    def provider_call(method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except StopIteration:  # as the sandbox's call answers it
            return env.undefined("value was undefined because a callable raised a StopIteration exception")

    def check_provider(fake: Any) -> None:
        if type(fake) is not provider_type:  # the session's names always carry its provider
            raise TypeError(f"fake is {type(fake).__name__}, not the provider")

    def call(function: Any, *args: Any, **kwargs: Any) -> Any:
        return env.call(context, function, *args, **kwargs)

    select_equal, select_equal_list = _selecting(env)
    namespace: dict[str, Any] = {
        "_M": _MISSING,
        "_G": template_globals or {},
        "_U": env.undefined,
        "_CU": Undefined,
        "_ga": env.getattr,
        "_gi": env.getitem,
        "_call": call,
        "_check_provider": check_provider,
        "_pcall": provider_call,
        "_ctx": context,
        "_env": env,
        "_join": _str_join,
        "_PLAIN": PLAIN_TYPES,
        "_select_equal": select_equal,
        "_select_equal_list": select_equal_list,
        **generator.constants,
    }
    compiled_name = f"{filename or name} (compiled)"
    try:
        program = compile(code, compiled_name, "exec")
    except (SyntaxError, RecursionError):  # deeper than Python nests blocks: jinja2 renders it
        return None
    exec(program, namespace)  # code made above from the parsed template only
    return CompiledTemplate(
        namespace["render"],
        name,
        compiled_name,
        lines,
        code,
        generator.ordered,
        frozenset(generator.resolved),
    )


def iter_lines(compiled: CompiledTemplate) -> Iterator[tuple[int, str]]:
    """The compiled code with the template line of each of its lines (for reading and debugging)."""
    yield from zip(compiled.lines, compiled.source.splitlines(), strict=False)
