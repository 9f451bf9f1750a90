package difftest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/tayori-dev/tayori/internal/tenshiref"
)

// TestLogcheckRules compares tayori with tenshi on logcheck-database's rule set, written as a tenshi
// configuration by internal/tenshiref/cmd/logcheckconf: cracking and violation rules, then every ignore
// rule of the level as a trash rule, then a catch-all. These are a thousand and more real-world
// regexes (POSIX classes, alternations, optional groups, long literal runs) on real and generated logs.
func TestLogcheckRules(t *testing.T) {
	tenshiref.Require(t)
	if _, err := os.Stat(tenshiref.LogcheckDir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("logcheck-database is required in CI: %v", err)
		}
		t.Skipf("logcheck-database not installed: %v", err)
	}
	t.Parallel()
	// tenshi tries about a thousand lines a second against the 1,500 rules of the server level: the
	// corpora stay at a few thousand lines.
	for _, level := range []string{"paranoid", "server", "workstation"} {
		t.Run(level, func(t *testing.T) {
			t.Parallel()
			var conf bytes.Buffer
			cmd := exec.Command(logcheckconfBin, "-level", level)
			cmd.Stdout, cmd.Stderr = &conf, os.Stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("logcheckconf -level %s: %v", level, err)
			}
			path := filepath.Join(t.TempDir(), "logcheck-"+level+".conf")
			if err := os.WriteFile(path, conf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			s := prepare(t, "logcheck-"+level, path)
			corpora := []corpus{
				bundled(t, "Linux_2k.log"),
				bundled(t, "OpenSSH_2k.log"),
				generated(t, "realistic-seed3", realistic(3000, 3)),
			}
			if level == "server" {
				corpora = append(corpora, generated(t, "realistic-seed4", realistic(3000, 4)))
			}
			compareAll(t, s, corpora, nil)
		})
	}
}
