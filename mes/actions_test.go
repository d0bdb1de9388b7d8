package mes

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestActionsListsEveryAction reads the package's source for the actions it authorises (the
// action given to execute and the functions that pass it on, AuthRequest.Action literals and
// the Action constants) and checks that actions lists exactly those.
func TestActionsListsEveryAction(t *testing.T) {
	passOn := map[string]bool{"execute": true, "moveLot": true, "bookFor": true, "bookSimple": true, "book": true,
		"changeTask": true, "transitionWorkOrder": true, "requireSignatureFor": true}
	action := func(e ast.Expr) (string, bool) {
		lit, ok := e.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(lit.Value)
		return s, err == nil && strings.Count(s, ".") == 1 && !strings.ContainsAny(s, " /")
	}
	pkgs, err := parser.ParseDir(token.NewFileSet(), ".", func(fi os.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, 0)
	require.NoError(t, err)
	found := map[string]bool{}
	for _, pkg := range pkgs {
		ast.Inspect(pkg, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.CallExpr:
				name := ""
				switch f := x.Fun.(type) {
				case *ast.Ident:
					name = f.Name
				case *ast.SelectorExpr:
					name = f.Sel.Name
				case *ast.IndexExpr: // execute[T]
					if id, ok := f.X.(*ast.Ident); ok {
						name = id.Name
					}
				}
				if passOn[name] {
					for _, a := range x.Args {
						if s, ok := action(a); ok {
							found[s] = true
						}
					}
				}
			case *ast.KeyValueExpr:
				if k, ok := x.Key.(*ast.Ident); ok && k.Name == "Action" {
					if s, ok := action(x.Value); ok {
						found[s] = true
					}
				}
			case *ast.ValueSpec:
				for i, n := range x.Names {
					if strings.HasPrefix(n.Name, "Action") && i < len(x.Values) {
						if s, ok := action(x.Values[i]); ok {
							found[s] = true
						}
					}
				}
			}
			return true
		})
	}
	var want []string
	for s := range found {
		want = append(want, s)
	}
	slices.Sort(want)
	assert.Equal(t, want, actions)
}

func TestASignatureRuleForAnUnknownActionIsRefused(t *testing.T) {
	require.NoError(t, WithSignatureRequired("hold.release", Approval)(&Plant{signatures: map[string]signatureRule{}}))
	err := WithSignatureRequired("hold.relase", Approval)(&Plant{signatures: map[string]signatureRule{}})
	require.ErrorIs(t, err, ErrInvalid)
	assert.Contains(t, err.Error(), `"hold.relase" is not an action; mes.Actions() lists them`)
}
