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

import operator
import types
from collections.abc import Callable, Iterator
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
_DICT_ATTRIBUTES = frozenset(dir(dict))
_DICT_READERS = frozenset({"get", "keys", "items", "values"})
_JINJA_FILTERS = {"selectattr": filters.do_selectattr, "rejectattr": filters.do_rejectattr}
_MISSING = object()
ORDERED_TOKEN = '"\\u0000"'  # every slot's token in a template whose slots fill in text order


class Unsupported(Exception):
    """The template uses something outside the compiled subset: jinja2 renders it."""


@dataclass
class CompiledTemplate:
    """`render(names, slots, put)` -> the template's text, its values in `slots` (put() converts one
    that is not a plain scalar); `lines` maps a line of the code to the template's. `ordered`: every
    token is ORDERED_TOKEN and the slots are in text order (else the tokens are numbered)."""

    render: Callable[[dict[str, Any], list[Any], Callable[[Any], str]], str]
    filename: str
    lines: list[int]
    source: str
    ordered: bool


@dataclass
class _Scope:
    kind: str  # "top", "for", "macro"
    parent: _Scope | None
    names: dict[str, str] = field(default_factory=dict)  # jinja name -> python name
    pending: frozenset[str] = frozenset()  # assigned in this scope, not yet
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


class _Generator:
    def __init__(self, env: SandboxedEnvironment, name: str, provider_methods: frozenset[str]):
        self.env = env
        self.name = name
        self.provider_methods = provider_methods
        self.lines: list[tuple[int, str, int]] = []  # (indent, code, template line)
        self.indent = 1
        self.counter = 0
        self.resolved: dict[str, str] = {}  # context names resolved on entry
        self.top_assigned: set[str] = set()
        self.macros: dict[str, nodes.Macro] = {}
        self.constants: dict[str, Any] = {}
        self.scope = _Scope("top", None)
        self.macro_names: dict[str, str] = {}
        self.provider_calls = False
        self.ordered = False

    # --- bookkeeping ------------------------------------------------------------------------
    def fresh(self, stem: str) -> str:
        self.counter += 1
        return f"{stem}_{self.counter}"

    def line(self, code: str, lineno: int) -> None:
        self.lines.append((self.indent, code, lineno))

    def constant(self, value: Any) -> str:
        name = self.fresh("k")
        self.constants[name] = value
        return name

    def position(self, node: nodes.Node) -> str:
        return f"line {node.lineno} in {self.name!r}"

    # --- names ------------------------------------------------------------------------------
    def load(self, name: str) -> str:
        scope: _Scope | None = self.scope
        in_macro = False
        while scope is not None:
            if name in scope.names:
                if in_macro and scope.kind != "macro" and name in self.top_assigned:
                    raise Unsupported(f"a macro reads the template's variable {name}")
                return scope.names[name]
            if name in scope.pending:
                raise Unsupported(f"{name} is read before its set in the same scope")
            if scope.kind == "macro":
                in_macro = True
            scope = scope.parent
        if name in self.macros:
            raise Unsupported(f"macro {name} used as a value")
        if in_macro and name in self.top_assigned:
            raise Unsupported(f"a macro reads the template's variable {name}")
        if name in ("loop", "caller", "varargs", "kwargs"):
            raise Unsupported(f"special name {name}")
        if name not in self.resolved:
            self.resolved[name] = f"n_{name}" if name.isidentifier() and name.isascii() else self.fresh("n")
        return self.resolved[name]

    def store(self, name: str) -> str:
        scope = self.scope
        if name in self.macros or name == "loop":
            raise Unsupported(f"assignment to {name}")
        if scope.kind == "top":
            self.top_assigned.add(name)
            return self.load(name)
        if name not in scope.pending and name not in scope.names:
            raise Unsupported(f"{name} is set inside a branch of a loop or macro")
        python = scope.names.get(name) or self.fresh(f"v_{name}" if name.isidentifier() else "v")
        scope.names[name] = python
        return python

    # --- statements -------------------------------------------------------------------------
    def template(self, node: nodes.Template) -> tuple[str, list[int]]:
        self.top_assigned = _assigned_here(node.body)
        self.ordered = _in_output_order(node)
        self.line("_p = []", 1)
        self.line("_e = _p.extend", 1)
        self.statements(node.body)
        self.line("return ''.join(_p)", 1)
        body = self.lines
        head = ["def render(ns, slots, put):", "    _a = slots.append"]
        lines = [0, 1]
        for name, python in self.resolved.items():
            head.append(f"    {python} = ns.get({name!r}, _M)")
            head.append(f"    if {python} is _M: {python} = _U(name={name!r})")
            lines += [1, 1]
        if self.provider_calls:  # fake.method() calls the provider's method as the sandbox would
            head.append(f"    _check_provider({self.resolved['fake']})")
            lines.append(1)
        for indent, code, lineno in body:
            head.append("    " * indent + code)
            lines.append(lineno)
        return "\n".join(head) + "\n", lines

    def statements(self, body: list[nodes.Node]) -> None:
        for node in body:
            method = getattr(self, f"stmt_{type(node).__name__}", None)
            if method is None:
                raise Unsupported(f"{type(node).__name__} statement")
            method(node)

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
                self.line(f"str({self.expr(child)}),", child.lineno)
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
                # a finite float is plain too (x - x is nan for inf and nan); put() refuses the others
                plain = "type(_v) in _PLAIN or (type(_v) is float and _v - _v == 0)"
                self.line(f"if {plain}: _a(_v)", child.lineno)
                self.line("else: put(_v)", child.lineno)
                text += ORDERED_TOKEN
            else:
                value = self.expr(child)
                code = f"_e(({text!r}, str({value})))" if text else f"_p.append(str({value}))"
                self.line(code, child.lineno)
                text = ""
        if text:
            self.line(f"_p.append({text!r})", node.lineno)

    def stmt_Assign(self, node: nodes.Assign) -> None:
        value = self.expr(node.node)
        self.line(f"{self.target(node.target)} = {value}", node.lineno)

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
        self.indent += 1
        self.line("pass", lineno)
        self.statements(body)
        self.indent -= 1

    def stmt_For(self, node: nodes.For) -> None:
        if node.else_ or node.test is not None or node.recursive:
            raise Unsupported("for with else, a filter or recursion")
        iterable = self.expr(node.iter)  # in the enclosing scope
        outer = self.scope
        scope = _Scope("for", outer, pending=frozenset(_direct_assignments(node.body)))
        scope.index, scope.length = self.fresh("i"), self.fresh("n")
        self.scope = scope
        start = len(self.lines)
        scope.pending = scope.pending | frozenset(_target_names(node.target))
        target = self.target(node.target)
        self.indent += 1
        self.line("pass", node.lineno)
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
        if self.scope.kind != "top" or self.scope.parent is not None or self.indent != 1:
            raise Unsupported("a macro inside a block")
        if node.name in self.top_assigned or node.name in self.macros or node.name in self.resolved:
            raise Unsupported(f"macro {node.name} shadows a name")
        if any(
            isinstance(n, nodes.Name) and n.name in ("caller", "varargs", "kwargs")
            for n in node.find_all(nodes.Name)
        ):
            raise Unsupported("a macro using caller, varargs or kwargs")
        python = self.fresh(f"m_{node.name}" if node.name.isidentifier() else "m")
        outer = self.scope
        scope = _Scope("macro", outer, pending=frozenset(_direct_assignments(node.body)))
        params = []
        for arg in node.args:
            scope.names[arg.name] = self.fresh(f"a_{arg.name}" if arg.name.isidentifier() else "a")
            params.append(f"{scope.names[arg.name]}=_M")
        self.line(f"def {python}({', '.join(params)}):", node.lineno)
        self.indent += 1
        self.scope = scope
        first_default = len(node.args) - len(node.defaults)
        for index, arg in enumerate(node.args):
            local = scope.names[arg.name]
            if index >= first_default:
                default = self.expr(node.defaults[index - first_default])
            else:
                default = f"_U({f'parameter {arg.name!r} was not provided'!r}, name={arg.name!r})"
            self.line(f"if {local} is _M: {local} = {default}", node.lineno)
        self.line("_p = []", node.lineno)
        self.line("_e = _p.extend", node.lineno)
        self.statements(node.body)
        self.line("return ''.join(_p)", node.lineno)
        self.indent -= 1
        self.scope = outer
        self.macros[node.name] = node
        self.macro_names[node.name] = python

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
        obj = self.expr(node.node)
        if key in _DICT_ATTRIBUTES or not key.isidentifier():
            return f"_ga({obj}, {key!r})"
        # a plain dict's item is what the sandbox returns for a key that is no attribute of dict
        return f"(_o[{key!r}] if type(_o := {obj}) is dict and {key!r} in _o else _ga(_o, {key!r}))"

    def loop_attribute(self, key: str) -> str:
        scope = self.scope
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
        if node.dyn_args is not None or node.dyn_kwargs is not None:
            raise Unsupported("*args or **kwargs in a call")
        out = [self.expr(arg) for arg in node.args]
        out += [f"{kw.key}={self.expr(kw.value)}" for kw in node.kwargs]
        return out

    def expr_Call(self, node: nodes.Call) -> str:
        callee = node.node
        if isinstance(callee, nodes.Name) and callee.name in self.macros and not self._shadowed(callee.name):
            return self.macro_call(callee.name, node)
        if (
            isinstance(callee, nodes.Getattr)
            and isinstance(callee.node, nodes.Name)
            and callee.node.name == "fake"
            and callee.attr in self.provider_methods
            and not self._shadowed("fake")
            and "fake" not in self.top_assigned
        ):
            # the provider's own public methods: what the sandbox allows and calls as they are
            fake = self.load("fake")
            self.provider_calls = True
            return f"{fake}.{callee.attr}({', '.join(self.arguments(node))})"
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

    def macro_call(self, name: str, node: nodes.Call) -> str:
        macro = self.macros[name]
        params = [arg.name for arg in macro.args]
        if node.dyn_args is not None or node.dyn_kwargs is not None or len(node.args) > len(params):
            raise Unsupported(f"call of macro {name} with extra arguments")
        given = params[: len(node.args)]
        for kw in node.kwargs:
            if kw.key not in params or kw.key in given:
                raise Unsupported(f"call of macro {name} with keyword {kw.key}")
            given.append(kw.key)
        args = [self.expr(arg) for arg in node.args]
        kwargs = [(kw.key, self.expr(kw.value)) for kw in node.kwargs]
        python = self.macro_names[name]
        # positional and keyword values map onto the macro's parameters in order
        mapped = list(args)
        ordered = dict(kwargs)
        for param in params[len(args) :]:
            mapped.append(ordered.get(param, "_M"))
        return f"{python}({', '.join(mapped)})"

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


def _in_output_order(template: nodes.Template) -> bool:
    """Whether every `|j` and every macro call is written where it is evaluated (a child of an
    output), so slots fill in the order their tokens appear in the text."""
    direct = {id(child) for output in template.find_all(nodes.Output) for child in output.nodes}
    macros = {macro.name for macro in template.find_all(nodes.Macro)}
    for found in template.find_all((nodes.Filter, nodes.Call)):
        is_slot = isinstance(found, nodes.Filter) and found.name == "j"
        callee = found.node if isinstance(found, nodes.Call) else None
        is_macro = isinstance(callee, nodes.Name) and callee.name in macros
        if (is_slot or is_macro) and id(found) not in direct:
            return False
    return True


def _direct_assignments(body: list[nodes.Node]) -> set[str]:
    """Names set at a loop's or macro's own level (a set in a branch inside it is not supported)."""
    found: set[str] = set()
    for node in body:
        if isinstance(node, nodes.Assign):
            found.update(_target_names(node.target))
    return found


def _selecting(env: SandboxedEnvironment) -> Callable[[Any, str, Any, bool], Iterator[Any]]:
    getitem = env.getitem

    def select_equal(value: Any, key: str, other: Any, keep: bool) -> Iterator[Any]:
        """jinja2's select_or_reject with an attribute and the equalto test (a generator as well)."""
        if value:
            for item in value:
                found = item[key] if type(item) is dict and key in item else getitem(item, key)
                if bool(found == other) is keep:
                    yield item

    return select_equal


def _str_join(parts: tuple[Any, ...]) -> str:
    return "".join(map(str, parts))


def compile_template(
    env: SandboxedEnvironment,
    name: str,
    source: str,
    filename: str,
    context: Any,
    provider_type: type,
) -> CompiledTemplate | None:
    """The template as a Python function, or None when it uses something outside the subset."""
    methods = frozenset(
        attr
        for klass in provider_type.__mro__
        for attr, value in vars(klass).items()
        if not attr.startswith("_") and isinstance(value, types.FunctionType)
    )
    generator = _Generator(env, name, methods)
    try:
        code, lines = generator.template(env.parse(source, name, filename))
    except Unsupported:
        return None

    def check_provider(fake: Any) -> None:
        if type(fake) is not provider_type:  # the session's names always carry its provider
            raise TypeError(f"fake is {type(fake).__name__}, not the provider")

    def call(function: Any, *args: Any, **kwargs: Any) -> Any:
        return env.call(context, function, *args, **kwargs)

    namespace: dict[str, Any] = {
        "_M": _MISSING,
        "_U": env.undefined,
        "_CU": Undefined,
        "_ga": env.getattr,
        "_gi": env.getitem,
        "_call": call,
        "_check_provider": check_provider,
        "_ctx": context,
        "_env": env,
        "_join": _str_join,
        "_PLAIN": frozenset({str, int, bool, type(None)}),
        "_select_equal": _selecting(env),
        **generator.constants,
    }
    compiled_name = f"{filename or name} (compiled)"
    exec(compile(code, compiled_name, "exec"), namespace)  # code made above from the parsed template only
    return CompiledTemplate(namespace["render"], compiled_name, lines, code, generator.ordered)


def iter_lines(compiled: CompiledTemplate) -> Iterator[tuple[int, str]]:
    """The compiled code with the template line of each of its lines (for reading and debugging)."""
    yield from zip(compiled.lines, compiled.source.splitlines(), strict=False)
