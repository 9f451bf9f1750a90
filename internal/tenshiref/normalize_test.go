package tenshiref

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// normalizeGolden normalizes conf and compares the text, with the absolute
// path of testdata replaced by TESTDATA, with the golden file.
func normalizeGolden(t *testing.T, conf, golden string) string {
	t.Helper()
	got, err := Normalize(conf)
	if err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	portable := strings.ReplaceAll(got, abs, "TESTDATA")
	if *update {
		if err := os.WriteFile(golden, []byte(portable), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if portable != string(want) {
		t.Errorf("Normalize(%s) =\n%s\nwant (%s)\n%s", conf, portable, golden, want)
	}
	return got
}

func TestNormalizeGolden(t *testing.T) {
	for _, name := range []string{"run", "include"} {
		t.Run(name, func(t *testing.T) {
			conf := filepath.Join("testdata", name, map[string]string{"run": "tenshi.conf", "include": "main.conf"}[name])
			normalizeGolden(t, conf, filepath.Join("testdata", name, "normalized.golden"))
		})
	}
}

// TestNormalizeKeepsRules checks that every line Normalize does not comment
// out or rewrite is kept byte for byte, and that each dropped line is still
// there after the comment marker.
func TestNormalizeKeepsRules(t *testing.T) {
	conf := "testdata/include/main.conf"
	got, err := Normalize(conf)
	if err != nil {
		t.Fatal(err)
	}
	orig, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	out := strings.Split(strings.TrimSuffix(got, "\n"), "\n")[1:] // after the header
	in := strings.Split(strings.TrimSuffix(string(orig), "\n"), "\n")
	if len(out) != len(in) {
		t.Fatalf("%d lines out, %d in", len(out), len(in))
	}
	for i := range in {
		s := strings.TrimLeft(in[i], " \t")
		switch {
		case strings.HasPrefix(out[i], "#[tenshiref: "):
			if !strings.HasSuffix(out[i], "] "+in[i]) {
				t.Errorf("line %d: dropped line %q lost its text: %q", i+1, in[i], out[i])
			}
		case strings.HasPrefix(s, "include"), strings.HasPrefix(s, "set queue"):
		default:
			if out[i] != in[i] {
				t.Errorf("line %d changed: %q -> %q", i+1, in[i], out[i])
			}
		}
	}
}

func TestNormalizeErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("sets-logfile.conf", "set logfile /var/log/syslog\n")
	write("defines-queue.conf", "set queue q a@b c@d [now]\n")
	write("relative.conf", "include other.conf\n")
	write("d/bad", "set mailserver elsewhere\n")
	for _, tc := range []struct {
		name, conf, want string
	}{
		{"included file sets logfile", "include sets-logfile.conf\n", "sets logfile"},
		{"included file defines a queue", "include defines-queue.conf\n", "defines a queue"},
		{"relative include in included file", "include relative.conf\n", "relative include"},
		{"includedir file sets mailserver", "includedir d\n", "sets mailserver"},
		{"missing include", "include missing.conf\n", "no such file"},
		{"csv rule", "set csv [now] /bin/true\ncsv .*\n", "csv queue"},
		{"self include", "include self.conf\n", "nested deeper"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := write("main-"+strings.ReplaceAll(tc.name, " ", "-")+".conf", tc.conf)
			if tc.name == "self include" {
				write("self.conf", "include "+filepath.Join(dir, "self.conf")+"\n")
			}
			_, err := Normalize(p)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestRunIncludes runs tenshi on the normalized configuration with includes,
// hidepid, a group, a threshold and a pager queue with two recipients.
func TestRunIncludes(t *testing.T) {
	Require(t)
	conf, err := Normalize("testdata/include/main.conf")
	if err != nil {
		t.Fatal(err)
	}
	input := strings.Join([]string{
		"May  1 12:00:00 h1 CRON[1]: (root) CMD (true)",
		"May  1 12:00:01 h1 sshd[2]: Accepted password for root from 192.0.2.1 port 22 ssh2",
		"May  1 12:00:02 h1 sshd[3]: Failed password for bob",
		"May  1 12:00:03 h1 sshd[4]: Failed password for bob",
		"May  1 12:00:04 h2 sshd[5]: Failed password for eve",
		"May  1 12:00:05 h2 sshd[6]: Failed password for eve",
		"May  1 12:00:06 h2 sshd[7]: Failed password for eve",
		"May  1 12:00:07 h2 kernel: something else",
	}, "\n") + "\n"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got, err := Run(ctx, conf, []byte(input))
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{
		// The threshold (3 for ^sshd) drops h1's two failures.
		{"mail", "h2", "sshd: Failed password for eve", 3},
		{"misc", "h2", "kernel: something else", 1},
		{"mobile", "h1", "sshd: Accepted password for root from 192.0.2.1 port 22 ssh2", 1},
	}
	compareEntries(t, got, want)
}
