package server

import (
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
)

// TestOpenAPIMatchesRoutes checks that every registered route is in the
// OpenAPI document and every operation of the document is served by its
// own route (not by the catch-all 404).
func TestOpenAPIMatchesRoutes(t *testing.T) {
	f := newFixture(t, Options{})
	var doc struct {
		OpenAPI string `json:"openapi"`
		Paths   map[string]map[string]struct {
			OperationID string `json:"operationId"`
			Parameters  []struct {
				Name, In string
			} `json:"parameters"`
			Responses map[string]any `json:"responses"`
		} `json:"paths"`
		Components struct {
			Schemas map[string]any `json:"schemas"`
		} `json:"components"`
	}
	f.want(f.do("GET", "/openapi.json", "", nil), 200).json(t, &doc)
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi %q", doc.OpenAPI)
	}

	registered := map[string]bool{}
	for _, rt := range f.srv.routes {
		registered[strings.ToLower(rt.method)+" "+openAPIPath(rt.path)] = true
	}
	documented := map[string]bool{}
	ids := map[string]bool{}
	for p, ops := range doc.Paths {
		for m, op := range ops {
			documented[m+" "+p] = true
			if ids[op.OperationID] {
				t.Errorf("operationId %s twice", op.OperationID)
			}
			ids[op.OperationID] = true
			if op.Responses["200"] == nil {
				t.Errorf("%s %s: no 200 response", m, p)
			}
			for _, prm := range op.Parameters {
				if prm.In == "path" && !strings.Contains(p, "{"+prm.Name+"}") {
					t.Errorf("%s %s: path parameter %s not in the path", m, p, prm.Name)
				}
			}
			// The document's operation reaches its own handler.
			sample := strings.ReplaceAll(p, "{id}", "Policies/terms.md")
			req := httptest.NewRequest(strings.ToUpper(m), sample, nil)
			_, pattern := f.srv.mux.Handler(req)
			if strings.ToLower(pattern) != m+" "+strings.ReplaceAll(p, "{id}", "{id...}") {
				t.Errorf("%s %s is served by pattern %q", m, sample, pattern)
			}
		}
	}
	for k := range registered {
		if !documented[k] {
			t.Errorf("route %s is registered but not in /openapi.json", k)
		}
	}
	for k := range documented {
		if !registered[k] {
			t.Errorf("/openapi.json documents %s, which is not registered", k)
		}
	}
	if len(registered) < 15 {
		t.Fatalf("only %d routes", len(registered))
	}
	// Every $ref resolves.
	body := string(f.do("GET", "/openapi.json", "", nil).body)
	for _, part := range strings.Split(body, `"$ref": "#/components/schemas/`)[1:] {
		name, _, _ := strings.Cut(part, `"`)
		if _, ok := doc.Components.Schemas[name]; !ok {
			t.Errorf("$ref to undefined schema %s", name)
		}
	}
	var names []string
	for n := range doc.Components.Schemas {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, want := range []string{"Error", "Hit", "Report", "SearchRequest", "SearchResponse", "IngestRequest", "Stats"} {
		if sort.SearchStrings(names, want) == len(names) || names[sort.SearchStrings(names, want)] != want {
			t.Errorf("schema %s missing (have %v)", want, names)
		}
	}
}

// TestEveryRouteAnswersJSONErrors hits every route without a key on a
// server with keys: public routes answer, the others 401 as JSON.
func TestEveryRouteAnswersJSONErrors(t *testing.T) {
	f := newFixture(t, Options{APIKey: readKey, AdminKey: adminKey})
	for _, rt := range f.srv.routes {
		path := strings.ReplaceAll(rt.path, "{id...}", "x.md")
		r := f.do(rt.method, path, "", nil)
		want := http.StatusUnauthorized
		if rt.access == public {
			want = http.StatusOK
		}
		if r.status != want {
			t.Errorf("%s: %d, want %d: %s", rt.pattern(), r.status, want, r.body)
		}
		if want == 401 && !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
			t.Errorf("%s: 401 as %s", rt.pattern(), r.header.Get("Content-Type"))
		}
	}
}
