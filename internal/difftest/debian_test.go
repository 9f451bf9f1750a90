package difftest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tayori-dev/tayori/internal/tenshiref"
)

// Debian's packaged configuration and its optional rule files.
const (
	debianConf      = "/etc/tenshi/tenshi.conf"
	debianActive    = "/etc/tenshi/includes-active"
	debianAvailable = "/etc/tenshi/includes-available"
)

// TestDebianRules compares tayori with tenshi on Debian's packaged tenshi.conf with every rule file of
// includes-available included (the package activates none): groups, nested groups, trash, hidepid, the
// noprefix queue, pager queues and a catch-all.
func TestDebianRules(t *testing.T) {
	tenshiref.Require(t)
	t.Parallel()
	data, err := os.ReadFile(debianConf)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	include := "includedir " + debianActive
	if strings.Count(text, include) != 1 {
		t.Fatalf("%s: want one %q line to point at %s", debianConf, include, debianAvailable)
	}
	entries, err := os.ReadDir(debianAvailable)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) == 0 {
		t.Fatalf("%s is empty", debianAvailable)
	}
	conf := filepath.Join(t.TempDir(), "tenshi.conf")
	text = strings.Replace(text, include, "includedir "+debianAvailable, 1)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	s := prepare(t, "debian", conf)

	compareAll(t, s, []corpus{
		bundled(t, "Linux_2k.log"),
		bundled(t, "OpenSSH_2k.log"),
		bundled(t, "Apache_2k.log"),
		generated(t, "realistic-seed1", realistic(3000, 1)),
		generated(t, "realistic-seed2", realistic(3000, 2)),
		generated(t, "plain-seed5", plain(3000, 5, 0)),
	}, nil)
}
