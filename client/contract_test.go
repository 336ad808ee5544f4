package client_test

import (
	"errors"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/cartgateway/cartgateway/client"
	"github.com/cartgateway/cartgateway/internal/apidocs"
)

// The client cannot drift from the OpenAPI document either: its answer
// types have exactly the documented fields, and every documented error
// code has one kind.

func schemas(t *testing.T) *apidocs.Node {
	t.Helper()
	root, err := apidocs.ParseNode(apidocs.Document())
	if err != nil {
		t.Fatal(err)
	}
	return root.Path("components", "schemas")
}

// jsonFields are the JSON names of a struct's fields, with the fields of
// nested structs (and slices of them) as "parent.child".
func jsonFields(t reflect.Type, prefix string) []string {
	var out []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || f.Anonymous {
			continue
		}
		out = append(out, prefix+name)
		ft := f.Type
		if ft.Kind() == reflect.Slice || ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && ft.PkgPath() == t.PkgPath() {
			out = append(out, jsonFields(ft, prefix+name+".")...)
		}
	}
	sort.Strings(out)
	return out
}

// schemaFields are the property names of an object schema, nested the same
// way; "success" is the envelope every answer has, which the client checks
// rather than shows.
func schemaFields(all, s *apidocs.Node, prefix string) []string {
	if ref := s.Get("$ref").Text(); ref != "" {
		s = all.Get(strings.TrimPrefix(ref, "#/components/schemas/"))
	}
	props := s.Get("properties")
	var out []string
	for i, name := range props.Keys {
		if name == "success" && prefix == "" {
			continue
		}
		out = append(out, prefix+name)
		p := props.Vals[i]
		if ref := p.Get("$ref").Text(); ref != "" {
			p = all.Get(strings.TrimPrefix(ref, "#/components/schemas/"))
		}
		if items := p.Get("items"); items != nil {
			p = items
			if ref := p.Get("$ref").Text(); ref != "" {
				p = all.Get(strings.TrimPrefix(ref, "#/components/schemas/"))
			}
		}
		if p.Get("properties") != nil {
			out = append(out, schemaFields(all, p, prefix+name+".")...)
		}
	}
	sort.Strings(out)
	return out
}

func TestAnswerTypesMatchTheDocument(t *testing.T) {
	all := schemas(t)
	for _, tc := range []struct {
		schema string
		typ    any
	}{
		{"PaymentApproved", client.Approval{}},
		{"CaptureApproved", client.Capture{}},
		{"ChangeApproved", client.Change{}},
		{"Payment", client.Payment{}},
		{"CheckoutCreated", client.Checkout{}},
		{"CheckoutValidated", client.CheckoutValidation{}},
	} {
		want := schemaFields(all, all.Get(tc.schema), "")
		got := jsonFields(reflect.TypeOf(tc.typ), "")
		if !slices.Equal(got, want) {
			t.Errorf("%T has fields %v;\nthe document's %s has %v", tc.typ, got, tc.schema, want)
		}
	}
}

var kinds = []error{client.ErrDeclined, client.ErrDuplicate, client.ErrNotFound, client.ErrRateLimited,
	client.ErrInvalidRequest, client.ErrRefused, client.ErrUnauthorized, client.ErrConflict, client.ErrProcessor, client.ErrServer}

func TestEveryCodeHasAKind(t *testing.T) {
	codes := schemas(t).Path("ErrorCode", "x-codes")
	if codes == nil || len(codes.Keys) == 0 {
		t.Fatal("no codes in the document")
	}
	for i, code := range codes.Keys {
		status, _ := strconv.Atoi(codes.Vals[i].Get("status").Str)
		e := &client.Error{StatusCode: status, Code: code}
		var matched []error
		for _, k := range kinds {
			if errors.Is(e, k) {
				matched = append(matched, k)
			}
		}
		if len(matched) != 1 {
			t.Errorf("code %q (%d) has kinds %v, want exactly one", code, status, matched)
		}
	}
}
