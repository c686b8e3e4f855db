package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestOTLPHeaders(t *testing.T) {
	t.Setenv(otlpHeadersEnv, "Authorization=Bearer%20tok,x-tenant = a, ,x-flag=on")
	f := OTLPFlags{OTLPHeader: []string{"x-tenant=b", "x-eq=k=v"}}
	h, err := f.headers()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"authorization": "Bearer tok", "x-tenant": "b", "x-flag": "on", "x-eq": "k=v"}
	if len(h) != len(want) {
		t.Errorf("headers %v, want %v", h, want)
	}
	for k, v := range want {
		if h[k] != v {
			t.Errorf("header %s = %q, want %q (all: %v)", k, h[k], v, h)
		}
	}
	for _, bad := range []string{"novalue", "=v"} {
		if _, err := (OTLPFlags{OTLPHeader: []string{bad}}).headers(); err == nil {
			t.Errorf("--otlp-header %q accepted", bad)
		}
	}
	t.Setenv(otlpHeadersEnv, "k=%zz")
	if _, err := (OTLPFlags{}).headers(); err == nil {
		t.Error("a bad percent-encoding was accepted")
	}
}

func TestNewForwarderUsage(t *testing.T) {
	for _, f := range []OTLPFlags{
		{OTLPInsecure: true},                                // no endpoint
		{OTLPEndpoint: "collector", OTLPInterval: 1e9},      // no port
		{OTLPEndpoint: "127.0.0.1:4317", OTLPInterval: 1e6}, // interval too short
		{OTLPEndpoint: "127.0.0.1:4317", OTLPInterval: 1e9, OTLPHeader: []string{"x"}},
	} {
		fw, err := newForwarder(f, 99, nil)
		if ee, ok := err.(*exitError); !ok || ee.code != exitUsage {
			t.Errorf("%+v: err %v, want a usage error", f, err)
		}
		if fw != nil {
			fw.stop(0)
		}
	}
	fw, err := newForwarder(OTLPFlags{}, 99, nil)
	if fw != nil || err != nil {
		t.Errorf("no endpoint: %v, %v; want no forwarder", fw, err)
	}
	if fw.onTrace() != nil {
		t.Error("a nil forwarder hooks traces")
	}
	if e, d := fw.counts(); e != 0 || d != 0 {
		t.Errorf("nil forwarder counts %d %d", e, d)
	}
}

func TestEnvironValue(t *testing.T) {
	path := filepath.Join(t.TempDir(), "environ")
	env := "PATH=/bin\x00OTEL_SERVICE_NAME=checkout\x00OTEL_SERVICE_NAME_X=no\x00"
	if err := os.WriteFile(path, []byte(env), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := environValue(path, "OTEL_SERVICE_NAME"); got != "checkout" {
		t.Errorf("got %q", got)
	}
	if got := environValue(path, "HOME"); got != "" {
		t.Errorf("unset variable: got %q", got)
	}
	if got := environValue(filepath.Join(t.TempDir(), "missing"), "PATH"); got != "" {
		t.Errorf("missing file: got %q", got)
	}
}
