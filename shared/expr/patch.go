package expr

import (
	"fmt"
	"strings"

	"github.com/expr-lang/expr/ast"
)

// Names of the functions the AST patch calls (registered in compile.go).
const (
	fnMethod      = reservedPrefix + "method"       // fnMethod("name", receiver, args...)
	fnSafeMethod  = reservedPrefix + "safe_method"  // like fnMethod, but null for a null receiver
	fnStatic      = reservedPrefix + "static"       // fnStatic("Math", "max", args...)
	fnStaticField = reservedPrefix + "static_field" // fnStaticField("Integer", "MAX_VALUE")
	fnSafeGet     = reservedPrefix + "safe_get"     // a?.b
	fnPlus        = reservedPrefix + "plus"         // a + b
	fnDivide      = reservedPrefix + "divide"       // a / b
	fnModulo      = reservedPrefix + "modulo"       // a % b
	fnMatches     = reservedPrefix + "matches"      // a matches b
	fnIsEmpty     = reservedPrefix + "is_empty"     // the Elvis test
	fnCollection  = reservedPrefix + "collection"   // checks the operand of .?[ ] and friends
	fnBool        = reservedPrefix + "bool"         // checks an operand of and / or
	letVarPrefix  = reservedPrefix + "v"            // variables introduced by the patch
)

// collectionBuiltins maps the selection markers from translate.go to the
// expr-lang builtins that implement them.
var collectionBuiltins = map[string]string{
	methodSelect:  "filter",   // .?[ ]
	methodProject: "map",      // .![ ]
	methodFirst:   "find",     // .^[ ]
	methodLast:    "findLast", // .$[ ]
}

// operatorFunctions are the binary operators whose SpEL meaning differs
// from expr-lang's, and the functions that implement them.
var operatorFunctions = map[string]string{
	"+": fnPlus, "/": fnDivide, "%": fnModulo, "matches": fnMatches,
}

// spelPatch finishes the translation on the parsed expr-lang tree. It runs
// bottom-up (children first), so each node it sees has its operands
// already patched:
//
//   - x.m(args) becomes _spel_method("m", x, args...): expr-lang has no
//     methods on strings, lists or maps, and Java's are dispatched at run
//     time on the receiver's type. x?.m() becomes _spel_safe_method.
//   - x?.y becomes _spel_safe_get(x, "y"), with SpEL's local meaning (only
//     this step is null-safe), and expr-lang's chain node is dropped.
//   - a ? _spel_elvis : b (from "a ?: b") becomes
//     let v = a; _spel_is_empty(v) ? b : v.
//   - x._spel_select(p) and the other markers become filter/map/find/findLast
//     closures in which p's bare names are properties of the element.
//   - "+", "/", "%" and "matches" become calls with Java's semantics.
//   - operands of and / or that are not evidently boolean are wrapped in
//     _spel_bool, which insists on a boolean as SpEL does.
//   - _spel_T_Integer.parseInt(s) becomes _spel_static("Integer", "parseInt", s).
//
// A spelPatch is used for one compilation only: it numbers the variables
// it introduces.
type spelPatch struct {
	vars int
	err  error
}

func (p *spelPatch) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.ChainNode:
		// Every optional member below is rewritten, so no jump targets the
		// end of this chain any more.
		*node = n.Node

	case *ast.MemberNode:
		if n.Method {
			return // the enclosing CallNode handles it
		}
		if t, ok := staticType(n.Node); ok {
			*node = call(n, fnStaticField, str(n, t), n.Property)
			return
		}
		if n.Optional {
			*node = call(n, fnSafeGet, n.Node, n.Property)
		}

	case *ast.CallNode:
		m, ok := n.Callee.(*ast.MemberNode)
		if !ok {
			return
		}
		name, ok := m.Property.(*ast.StringNode)
		if !ok {
			p.fail(fmt.Errorf("cannot call a computed method name"))
			return
		}
		if builtin, ok := collectionBuiltins[name.Value]; ok {
			*node = p.collection(n, m, builtin)
			return
		}
		if t, ok := staticType(m.Node); ok {
			*node = call(n, fnStatic, append([]ast.Node{str(n, t), str(n, name.Value)}, n.Arguments...)...)
			return
		}
		fn := fnMethod
		if m.Optional {
			fn = fnSafeMethod
		}
		*node = call(n, fn, append([]ast.Node{str(n, name.Value), m.Node}, n.Arguments...)...)

	case *ast.BinaryNode:
		if fn, ok := operatorFunctions[n.Operator]; ok {
			*node = call(n, fn, n.Left, n.Right)
			return
		}
		switch n.Operator {
		case "&&", "||", "and", "or":
			// expr-lang would let "map and true" through; SpEL wants booleans.
			if !isBoolean(n.Left) {
				n.Left = call(n.Left, fnBool, n.Left)
			}
			if !isBoolean(n.Right) {
				n.Right = call(n.Right, fnBool, n.Right)
			}
		}

	case *ast.ConditionalNode:
		if id, ok := n.Exp1.(*ast.IdentifierNode); ok && id.Value == identElvis {
			v := p.newVar()
			cond := &ast.ConditionalNode{
				Cond: call(n, fnIsEmpty, ident(n, v)),
				Exp1: n.Exp2,
				Exp2: ident(n, v),
			}
			cond.SetLocation(n.Location())
			decl := &ast.VariableDeclaratorNode{Name: v, Value: n.Cond, Expr: cond}
			decl.SetLocation(n.Location())
			*node = decl
		}

	}
}

// collection builds the closure for x.?[p] (and .![ ], .^[ ], .$[ ]).
func (p *spelPatch) collection(n *ast.CallNode, m *ast.MemberNode, builtin string) ast.Node {
	if len(n.Arguments) != 1 {
		p.fail(fmt.Errorf("a selection or projection takes one expression"))
		return n
	}
	pred := n.Arguments[0]
	ast.Walk(&pred, elementScope{})
	predicate := &ast.PredicateNode{Node: pred}
	predicate.SetLocation(pred.Location())

	build := func(collection ast.Node) ast.Node {
		b := &ast.BuiltinNode{
			Name:      builtin,
			Arguments: []ast.Node{call(n, fnCollection, collection), predicate},
		}
		b.SetLocation(n.Location())
		return b
	}
	if !m.Optional {
		return build(m.Node)
	}
	// x?.?[p] is null when x is null.
	v := p.newVar()
	isNil := &ast.BinaryNode{Operator: "==", Left: ident(n, v), Right: &ast.NilNode{}}
	cond := &ast.ConditionalNode{Cond: isNil, Exp1: &ast.NilNode{}, Exp2: build(ident(n, v))}
	decl := &ast.VariableDeclaratorNode{Name: v, Value: m.Node, Expr: cond}
	decl.SetLocation(n.Location())
	return decl
}

func (p *spelPatch) newVar() string {
	p.vars++
	return fmt.Sprintf("%s%d", letVarPrefix, p.vars)
}

func (p *spelPatch) fail(err error) {
	if p.err == nil {
		p.err = err
	}
}

// elementScope rewrites a selection or projection body so that it sees the
// element the way SpEL does: a bare name is a property of the element
// (stages.?[type == 'deploy']) and #this is the element itself. Nested
// closures were rewritten already (the patch works bottom-up), so their
// bodies hold no bare names any more.
type elementScope struct{}

func (elementScope) Visit(node *ast.Node) {
	id, ok := (*node).(*ast.IdentifierNode)
	if !ok {
		return
	}
	switch {
	case id.Value == identThis:
		ptr := &ast.PointerNode{}
		ptr.SetLocation(id.Location())
		*node = ptr
	case strings.HasPrefix(id.Value, reservedPrefix), strings.HasPrefix(id.Value, "$"):
		// our functions, variables and type references, and $env (#root)
	default:
		ptr := &ast.PointerNode{}
		ptr.SetLocation(id.Location())
		m := &ast.MemberNode{Node: ptr, Property: str(id, id.Value)}
		m.SetLocation(id.Location())
		*node = m
	}
}

// rootScope runs after spelPatch: a #this left outside any selection refers
// to the root object, as in SpEL.
type rootScope struct{}

func (rootScope) Visit(node *ast.Node) {
	if id, ok := (*node).(*ast.IdentifierNode); ok && id.Value == identThis {
		id.Value = "$env"
	}
}

// isBoolean reports whether n always yields a boolean, so that and / or
// need not check it at run time.
func isBoolean(n ast.Node) bool {
	switch x := n.(type) {
	case *ast.BoolNode:
		return true
	case *ast.UnaryNode:
		return x.Operator == "!" || x.Operator == "not"
	case *ast.BinaryNode:
		switch x.Operator {
		case "==", "!=", "<", ">", "<=", ">=", "&&", "||", "and", "or":
			return true
		}
	case *ast.CallNode:
		if id, ok := x.Callee.(*ast.IdentifierNode); ok {
			return id.Value == fnMatches || id.Value == fnBool || id.Value == fnIsEmpty
		}
	}
	return false
}

// staticType reports whether n is a T(...) type reference and which type.
func staticType(n ast.Node) (string, bool) {
	id, ok := n.(*ast.IdentifierNode)
	if !ok || !strings.HasPrefix(id.Value, identTypeRef) {
		return "", false
	}
	return strings.TrimPrefix(id.Value, identTypeRef), true
}

// call builds fn(args...) located where at is, so run-time errors point at
// the user's expression.
func call(at ast.Node, fn string, args ...ast.Node) ast.Node {
	c := &ast.CallNode{Callee: ident(at, fn), Arguments: args}
	c.SetLocation(at.Location())
	return c
}

func ident(at ast.Node, name string) *ast.IdentifierNode {
	id := &ast.IdentifierNode{Value: name}
	id.SetLocation(at.Location())
	return id
}

func str(at ast.Node, s string) *ast.StringNode {
	n := &ast.StringNode{Value: s}
	n.SetLocation(at.Location())
	return n
}
