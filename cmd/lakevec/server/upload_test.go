package server

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
)

// multipartBody builds a form with an optional "at" field and files.
func multipartBody(t *testing.T, at string, files ...[2]string) (string, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	if at != "" {
		w.WriteField("at", at)
	}
	for _, f := range files {
		fw, err := w.CreateFormFile("files", f[0])
		if err != nil {
			t.Fatal(err)
		}
		fw.Write([]byte(f[1]))
	}
	w.Close()
	return w.FormDataContentType(), &buf
}

func TestUploadDocuments(t *testing.T) {
	f := newFixture(t, Options{APIKey: readKey, AdminKey: adminKey})
	upload := func(key, ctype string, header bool, body *bytes.Buffer) resp {
		req, _ := http.NewRequest("POST", f.ts.URL+"/api/v1/documents/upload", body)
		req.Header.Set("Content-Type", ctype)
		if header {
			req.Header.Set("X-Lakevec-Upload", "1")
		}
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		return f.send(req)
	}
	ct, body := multipartBody(t, "2024-01-01", [2]string{"policies/terms.md", termsV1}, [2]string{"cookies.md", other})
	r := f.want(upload(adminKey, ct, true, body), 200)
	if !strings.Contains(string(r.body), `"seq":1`) {
		t.Fatalf("upload report: %s", r.body)
	}
	ct, body = multipartBody(t, "2024-06-01", [2]string{"policies/terms.md", termsV2})
	f.want(upload(adminKey, ct, true, body), 200)
	var sr showResponse
	f.want(f.do("GET", "/api/v1/documents/policies/terms.md?as_of=2024-02-01", readKey, nil), 200).json(t, &sr)
	if sr.Text != termsV1 {
		t.Fatalf("as of February: %q", sr.Text)
	}
	f.want(f.do("GET", "/api/v1/documents/policies/terms.md", readKey, nil), 200).json(t, &sr)
	if sr.Text != termsV2 {
		t.Fatalf("now: %q", sr.Text)
	}
	for _, tc := range []struct {
		name   string
		key    string
		ctype  string
		header bool
		files  [][2]string
		at     string
		status int
		want   string
	}{
		{"read key", readKey, "", true, [][2]string{{"a.md", "x"}}, "", 403, ""},
		{"no key", "", "", true, [][2]string{{"a.md", "x"}}, "", 401, ""},
		{"no header", adminKey, "", false, [][2]string{{"a.md", "x"}}, "", 400, "X-Lakevec-Upload"},
		{"json", adminKey, "application/json", true, [][2]string{{"a.md", "x"}}, "", 415, "multipart/form-data"},
		{"no files", adminKey, "", true, nil, "2024-01-01", 400, "no file parts"},
		{"bad time", adminKey, "", true, [][2]string{{"a.md", "x"}}, "yesterday", 400, "at"},
		{"twice", adminKey, "", true, [][2]string{{"a.md", "x"}, {"a.md", "y"}}, "", 400, "twice"},
		{"bad id", adminKey, "", true, [][2]string{{"a\x01b.md", "x"}}, "", 400, "file"},
		{"not utf-8", adminKey, "", true, [][2]string{{"b.md", "\xff\xfe"}}, "", 400, "UTF-8"},
	} {
		ct, body := multipartBody(t, tc.at, tc.files...)
		if tc.ctype != "" {
			ct = tc.ctype
		}
		r := upload(tc.key, ct, tc.header, body)
		if r.status != tc.status || !strings.Contains(string(r.body), tc.want) {
			t.Errorf("%s: %d %s, want %d containing %q", tc.name, r.status, r.body, tc.status, tc.want)
		}
	}
}

// Both ingest paths refuse a request with more documents than the limit,
// and store nothing of it.
func TestIngestDocumentLimit(t *testing.T) {
	f := newFixture(t, Options{APIKey: readKey, AdminKey: adminKey, MaxBatchDocs: 2})
	three := [][2]string{{"a.md", termsV1}, {"b.md", other}, {"c.md", termsV2}}
	ct, body := multipartBody(t, "", three...)
	req, _ := http.NewRequest("POST", f.ts.URL+"/api/v1/documents/upload", body)
	req.Header.Set("Content-Type", ct)
	req.Header.Set("X-Lakevec-Upload", "1")
	req.Header.Set("Authorization", "Bearer "+adminKey)
	if r := f.send(req); r.status != 400 || !strings.Contains(string(r.body), "limit of 2 documents") {
		t.Fatalf("upload of 3 files with a limit of 2: %d %s", r.status, r.body)
	}
	js := `{"documents":[{"doc_id":"a.md","text":"x"},{"doc_id":"b.md","text":"y"},{"doc_id":"c.md","text":"z"}]}`
	if r := f.do("POST", "/api/v1/documents", adminKey, js); r.status != 400 || !strings.Contains(string(r.body), "limit of 2 documents") {
		t.Fatalf("JSON ingest of 3 documents with a limit of 2: %d %s", r.status, r.body)
	}
	if r := f.want(f.do("GET", "/api/v1/stats", readKey, nil), 200); !strings.Contains(string(r.body), `"batches":0`) {
		t.Fatalf("a refused request stored something: %s", r.body)
	}
	ct, body = multipartBody(t, "", three[:2]...)
	req, _ = http.NewRequest("POST", f.ts.URL+"/api/v1/documents/upload", body)
	req.Header.Set("Content-Type", ct)
	req.Header.Set("X-Lakevec-Upload", "1")
	req.Header.Set("Authorization", "Bearer "+adminKey)
	f.want(f.send(req), 200)
}
