package difftest

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/tayori-dev/tayori/internal/gencorpus"
	"github.com/tayori-dev/tayori/internal/tenshiref"
)

// semanticSet is one configuration in testdata, or several that share their rule table (through an
// included file) and differ in one setting, and the corpora they are compared on. Every rule of the
// table must match at least one line of one corpus under one of the configurations, so that the
// comparison covers it.
type semanticSet struct {
	name    string
	confs   []string // in testdata
	corpora func(t *testing.T) []corpus
	// allRules: every rule (groups aside) must have matched a line, except those in unreachable, which
	// must not have; false where rules are meant to shadow each other.
	allRules    bool
	unreachable []string // patterns
}

// plain is gencorpus's plain BSD-syslog corpus: no repeats, no RFC 3339, no unprefixed lines.
func plain(lines int, seed int64, hosts int) gencorpus.Options {
	return gencorpus.Options{Lines: lines, Seed: seed, Hosts: hosts}
}

// withRepeats is a plain corpus with sysklogd's "last message repeated" lines, rsyslog's "message
// repeated" lines and unprefixed lines.
func withRepeats(lines int, seed int64) gencorpus.Options {
	return gencorpus.Options{Lines: lines, Seed: seed, Hosts: 5, RepeatRate: 0.05, RsyslogRepeatRate: 0.02, UnprefixedRate: 0.01}
}

// unprefixed is the realistic mix with many lines without a syslog prefix.
func unprefixed(lines int, seed int64) gencorpus.Options {
	o := realistic(lines, seed)
	o.UnprefixedRate = 0.1
	return o
}

func semanticSets() []semanticSet {
	return []semanticSet{
		{
			name:  "basic",
			confs: []string{"basic.conf"},
			corpora: func(t *testing.T) []corpus {
				return []corpus{
					local(t, "basic.log"),
					bundled(t, "Linux_2k.log"),
					bundled(t, "OpenSSH_2k.log"),
					generated(t, "plain-seed11", plain(3000, 11, 0)),
					generated(t, "realistic-seed12", realistic(3000, 12)),
				}
			},
			allRules: true,
		},
		{
			name:  "prefix",
			confs: []string{"prefix.conf"},
			corpora: func(t *testing.T) []corpus {
				return []corpus{local(t, "prefix.log")}
			},
			allRules: true,
		},
		{
			name:  "mask",
			confs: []string{"mask-3.conf", "mask-6.conf", "mask-empty.conf"},
			corpora: func(t *testing.T) []corpus {
				return []corpus{
					bundled(t, "Linux_2k.log"),
					bundled(t, "OpenSSH_2k.log"),
					generated(t, "plain-seed21", plain(3000, 21, 0)),
					generated(t, "realistic-seed22", realistic(2000, 22)),
				}
			},
			allRules: true,
		},
		{
			name:  "hidepid",
			confs: []string{"hidepid-on.conf", "hidepid-off.conf"},
			corpora: func(t *testing.T) []corpus {
				return []corpus{
					local(t, "hidepid.log"),
					bundled(t, "Linux_2k.log"),
					bundled(t, "OpenSSH_2k.log"),
					generated(t, "plain-seed31", plain(2000, 31, 0)),
				}
			},
			allRules: true,
		},
		{
			name:  "groups",
			confs: []string{"groups.conf"},
			corpora: func(t *testing.T) []corpus {
				return []corpus{
					bundled(t, "OpenSSH_2k.log"),
					generated(t, "plain-seed41", plain(3000, 41, 0)),
					generated(t, "plain-seed42", plain(3000, 42, 0)),
				}
			},
			allRules:    true,
			unreachable: []string{".*"}, // in a group that matches no line
		},
		{
			name:  "repeat",
			confs: []string{"repeat.conf"},
			corpora: func(t *testing.T) []corpus {
				return []corpus{
					local(t, "repeat.log"),
					bundled(t, "Linux_2k.log"),
					generated(t, "repeats-seed51", withRepeats(3000, 51)),
					generated(t, "repeats-seed52", withRepeats(3000, 52)),
				}
			},
			allRules: true,
		},
		{
			name:  "escalation",
			confs: []string{"escalation.conf"},
			corpora: func(t *testing.T) []corpus {
				return []corpus{
					bundled(t, "OpenSSH_2k.log"),
					bundled(t, "Linux_2k.log"),
					generated(t, "plain-3hosts-seed61", plain(4000, 61, 3)),
					generated(t, "plain-2hosts-seed62", plain(4000, 62, 2)),
				}
			},
			allRules: true,
		},
		{
			name:  "thresholds",
			confs: []string{"thresholds.conf"},
			corpora: func(t *testing.T) []corpus {
				return []corpus{
					bundled(t, "OpenSSH_2k.log"),
					bundled(t, "Linux_2k.log"),
					generated(t, "plain-seed71", plain(3000, 71, 4)),
				}
			},
			allRules: true,
		},
		{
			name:  "logprefix",
			confs: []string{"logprefix-noprefix.conf", "logprefix-only.conf"},
			corpora: func(t *testing.T) []corpus {
				return []corpus{
					bundled(t, "Apache_2k.log"),
					bundled(t, "Linux_2k.log"),
					generated(t, "unprefixed-seed81", unprefixed(3000, 81)),
				}
			},
			allRules: true,
		},
		{
			name:  "include",
			confs: []string{"include.conf"},
			corpora: func(t *testing.T) []corpus {
				return []corpus{
					bundled(t, "Linux_2k.log"),
					generated(t, "plain-seed91", plain(3000, 91, 0)),
				}
			},
			// Rules of later files are shadowed on purpose.
			allRules: false,
		},
	}
}

// TestSemantics compares tayori with tenshi on the configurations in testdata, written to exercise
// every semantic the two share (each file's header says which). The rules mask enough that no host
// has a thousand distinct lines in a queue, tayori's default max_lines_per_host (see
// TestBugMaxLinesPerHost): these comparisons test their own semantics, not that cap.
func TestSemantics(t *testing.T) {
	tenshiref.Require(t)
	t.Parallel()
	for _, set := range semanticSets() {
		t.Run(set.name, func(t *testing.T) {
			t.Parallel()
			corpora := set.corpora(t)
			var cov coverage
			for _, name := range set.confs {
				s := prepare(t, strings.TrimSuffix(name, ".conf"), filepath.Join("testdata", name))
				compareAll(t, s, corpora, &cov)
			}
			if set.allRules && !t.Failed() {
				cov.check(t, set.unreachable)
			}
		})
	}
}
