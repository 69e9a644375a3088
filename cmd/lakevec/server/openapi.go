package server

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// openAPIPath turns a ServeMux path into an OpenAPI one: {id...} is {id}
// (a document id, which may contain slashes).
func openAPIPath(p string) string { return strings.ReplaceAll(p, "...}", "}") }

// pathParams lists the wildcards of a ServeMux path.
func pathParams(p string) []string {
	var out []string
	for _, seg := range strings.Split(p, "/") {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			out = append(out, strings.TrimSuffix(strings.Trim(seg, "{}"), "..."))
		}
	}
	return out
}

// buildOpenAPI produces the OpenAPI 3.0 document of the registered routes.
// Schemas are derived from the Go types of the bodies by reflection.
func (s *Server) buildOpenAPI() map[string]any {
	sg := &schemaGen{defs: map[string]any{}}
	sg.defs["Error"] = sg.schema(reflect.TypeOf(errorBody{}))
	paths := map[string]any{}
	for _, rt := range s.routes {
		op := map[string]any{
			"operationId":      operationID(rt),
			"summary":          rt.summary,
			"x-lakevec-access": rt.access.String(),
		}
		if rt.access == public {
			op["security"] = []any{}
		} else {
			op["security"] = []any{map[string]any{"bearerAuth": []string{}}}
		}
		var params []any
		for _, name := range pathParams(rt.path) {
			desc := "document id; may contain slashes, sent as they are (a/b.md), or each segment percent-encoded"
			if name == "name" {
				desc = "collection name: 1 to 64 lower-case letters, digits and '_'"
			}
			params = append(params, map[string]any{"name": name, "in": "path", "required": true,
				"description": desc, "schema": map[string]any{"type": "string"}})
		}
		for _, p := range rt.query {
			sch := map[string]any{"type": p.typ}
			if p.typ == "time" {
				sch = map[string]any{"type": "string", "description": "RFC 3339 or YYYY-MM-DD"}
			}
			params = append(params, map[string]any{"name": p.name, "in": "query", "required": p.required,
				"description": p.desc, "schema": sch})
		}
		if params != nil {
			op["parameters"] = params
		}
		if rt.body != nil {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{
				"application/json": map[string]any{"schema": sg.ref(reflect.TypeOf(rt.body))}}}
		}
		if rt.upload {
			params = append(params, map[string]any{"name": "X-Lakevec-Upload", "in": "header", "required": true,
				"description": "any value; required so that a cross-site form cannot upload", "schema": map[string]any{"type": "string"}})
			op["parameters"] = params
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{
				"multipart/form-data": map[string]any{"schema": map[string]any{"type": "object",
					"properties": map[string]any{
						"at":    map[string]any{"type": "string", "description": "valid time of the versions (RFC 3339 or YYYY-MM-DD); default now"},
						"files": map[string]any{"type": "array", "items": map[string]any{"type": "string", "format": "binary"}, "description": "one part per document; the part's file name is the document id"},
					}}}}}
		}
		ok := map[string]any{"description": "OK"}
		switch {
		case rt.resp != nil:
			ok["content"] = map[string]any{"application/json": map[string]any{"schema": sg.ref(reflect.TypeOf(rt.resp))}}
		case rt.rawType != "":
			ok["content"] = map[string]any{strings.Split(rt.rawType, ";")[0]: map[string]any{"schema": map[string]any{"type": "string"}}}
		}
		resps := map[string]any{"200": ok}
		errRef := map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Error"}}}
		codes := append([]int{}, rt.errors...)
		if rt.access != public {
			codes = append(codes, http.StatusUnauthorized)
		}
		if rt.access == admin {
			codes = append(codes, http.StatusForbidden)
		}
		if rt.api != nil {
			codes = append(codes, http.StatusServiceUnavailable)
		}
		for _, c := range codes {
			resps[strconv.Itoa(c)] = map[string]any{"description": http.StatusText(c), "content": errRef}
		}
		resps["default"] = map[string]any{"description": "error", "content": errRef}
		op["responses"] = resps
		p := openAPIPath(rt.path)
		item, _ := paths[p].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[p] = item
		}
		item[strings.ToLower(rt.method)] = op
	}
	return map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{"title": "lakevec", "version": "v1",
			"description": "Search a versioned knowledge base by meaning, now or as of any time. Errors are {\"error\": \"...\"}."},
		"paths": paths,
		"components": map[string]any{
			"schemas": sg.defs,
			"securitySchemes": map[string]any{"bearerAuth": map[string]any{"type": "http", "scheme": "bearer",
				"description": "a read-only key (--api-key) or the admin key (--admin-key); required only when keys are configured"}},
		},
	}
}

func operationID(rt route) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(rt.method))
	for _, seg := range strings.Split(strings.TrimPrefix(rt.path, apiPrefix), "/") {
		seg = strings.Trim(strings.TrimSuffix(seg, "...}"), "{}")
		seg = strings.NewReplacer(".", "_", "-", "_").Replace(seg)
		if seg != "" {
			b.WriteString(strings.ToUpper(seg[:1]) + seg[1:])
		}
	}
	return b.String()
}

func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) {
	s.openAPIOnce.Do(func() {
		s.openAPIDoc, _ = json.MarshalIndent(s.buildOpenAPI(), "", "  ")
	})
	w.Header().Set("Content-Type", "application/json")
	w.Write(s.openAPIDoc)
}

// schemaGen derives JSON schemas from Go types, following encoding/json's
// rules for the tags this package and engine use (name, omitempty, "-").
type schemaGen struct{ defs map[string]any }

var timeType = reflect.TypeOf(time.Time{})

// ref returns a $ref to a named struct's schema, defining it on first use.
func (g *schemaGen) ref(t reflect.Type) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || t == timeType {
		return g.schema(t)
	}
	name := schemaName(t)
	if _, ok := g.defs[name]; !ok {
		g.defs[name] = nil // break cycles
		g.defs[name] = g.schema(t)
	}
	return map[string]any{"$ref": "#/components/schemas/" + name}
}

func schemaName(t reflect.Type) string {
	n := t.Name()
	if n == "" {
		return "Anonymous"
	}
	return strings.ToUpper(n[:1]) + n[1:]
}

func (g *schemaGen) schema(t reflect.Type) map[string]any {
	nullable := false
	for t.Kind() == reflect.Pointer {
		t, nullable = t.Elem(), true
	}
	var s map[string]any
	switch {
	case t == timeType:
		s = map[string]any{"type": "string", "format": "date-time"}
	case t.Kind() == reflect.Struct:
		if nullable {
			return g.ref(t)
		}
		props := map[string]any{}
		var required []string
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			props[name] = g.fieldSchema(f.Type)
			if !strings.Contains(opts, "omitempty") && f.Type.Kind() != reflect.Pointer {
				required = append(required, name)
			}
		}
		s = map[string]any{"type": "object", "properties": props}
		if required != nil {
			s["required"] = required
		}
	case t.Kind() == reflect.Slice || t.Kind() == reflect.Array:
		s = map[string]any{"type": "array", "items": g.fieldSchema(t.Elem())}
	case t.Kind() == reflect.Map:
		s = map[string]any{"type": "object", "additionalProperties": g.fieldSchema(t.Elem())}
	case t.Kind() == reflect.String:
		s = map[string]any{"type": "string"}
	case t.Kind() == reflect.Bool:
		s = map[string]any{"type": "boolean"}
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		s = map[string]any{"type": "integer"}
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		s = map[string]any{"type": "number"}
	default:
		s = map[string]any{}
	}
	if nullable {
		s["nullable"] = true
	}
	return s
}

// fieldSchema refers to named structs and inlines everything else.
func (g *schemaGen) fieldSchema(t reflect.Type) map[string]any {
	u := t
	for u.Kind() == reflect.Pointer {
		u = u.Elem()
	}
	if u.Kind() == reflect.Struct && u != timeType {
		return g.ref(u)
	}
	return g.schema(t)
}
