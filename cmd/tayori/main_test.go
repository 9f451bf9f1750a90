package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// run calls the command in-process, as the binary would.
func run(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = dispatch(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update creates it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs:\n--- got ---\n%s--- want ---\n%s", name, got, want)
	}
}

func TestCommandOutputs(t *testing.T) {
	cases := []struct {
		golden string
		args   []string
		code   int
	}{
		{"test.txt", []string{"test", "-c", "testdata/small.toml", "testdata/small.log"}, 0},
		{"test.json", []string{"test", "-c", "testdata/small.toml", "--format", "json", "testdata/small.log"}, 0},
		{"explain.txt", []string{"test", "-c", "testdata/small.toml", "--explain", "testdata/small.log"}, 0},
		{"stats.txt", []string{"test", "-c", "testdata/small.toml", "--stats", "testdata/small.log"}, 0},
		{"check-ok.txt", []string{"check", "-c", "testdata/small.toml"}, 0},
	}
	for _, c := range cases {
		t.Run(c.golden, func(t *testing.T) {
			code, out, errs := run(t, "", c.args...)
			if code != c.code {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, c.code, errs)
			}
			golden(t, c.golden, out)
		})
	}
}

func TestCheckListsEveryError(t *testing.T) {
	code, out, errs := run(t, "", "check", "-c", "testdata/broken.toml")
	if code != 1 || out != "" {
		t.Fatalf("exit %d, stdout %q", code, out)
	}
	golden(t, "check-broken.txt", errs)
	for _, want := range []string{
		`testdata/broken.toml:4: queues.daily: schedule "30 25 * * *"`,
		`testdata/broken.toml:7: rules[1].queue: unknown queue "dialy"`,
		`testdata/broken.toml:11: rules[2].queue: escalation numbers must not decrease`,
		`testdata/broken.toml:12: rules[2].match '(a)\1': backreference`,
		`testdata/broken.toml:16: rules[3].match[2] 'foo(?=bar)': lookahead`,
		`testdata/broken.toml:16: rules[3].match[3] 'unclosed(': missing closing )`,
		"6 error(s)",
	} {
		if !strings.Contains(errs, want) {
			t.Errorf("missing %q", want)
		}
	}
}

func TestTestReadsStdinAndRefusesBadFlags(t *testing.T) {
	log, err := os.ReadFile("testdata/small.log")
	if err != nil {
		t.Fatal(err)
	}
	_, fromStdin, _ := run(t, string(log), "test", "-c", "testdata/small.toml")
	_, fromFile, _ := run(t, "", "test", "-c", "testdata/small.toml", "testdata/small.log")
	if fromStdin != fromFile || fromStdin == "" {
		t.Errorf("stdin and file differ:\n%s\n%s", fromStdin, fromFile)
	}
	if code, _, _ := run(t, "", "test", "-c", "testdata/small.toml", "--format", "xml"); code != 2 {
		t.Errorf("--format xml: exit %d, want 2", code)
	}
	if code, _, errs := run(t, "", "test", "-c", "testdata/small.toml", "missing.log"); code != 1 || !strings.Contains(errs, "missing.log") {
		t.Errorf("missing file: exit %d, %q", code, errs)
	}
	if code, _, _ := run(t, "", "frobnicate"); code != 2 {
		t.Errorf("unknown command: exit %d, want 2", code)
	}
	if code, out, _ := run(t, "", "version"); code != 0 || !strings.HasPrefix(out, "tayori ") {
		t.Errorf("version: %d %q", code, out)
	}
}
