package difftest

import (
	"strings"
	"testing"
)

// TestRefusedTenshiConfigs documents the tenshi configurations that `tayori convert` refuses although
// tenshi runs them: each refusal must name the reason (an admin fixes the line rather than get other
// digests); the tenshi subtest shows what tenshi makes of the same lines.
func TestRefusedTenshiConfigs(t *testing.T) {
	const queues = `set queue report tenshi@localhost root@localhost [now]
set queue esc    tenshi@localhost root@localhost [now]
set queue esc2   tenshi@localhost root@localhost [now]
`
	for _, c := range []struct {
		name   string
		conf   string
		reason string // in tayori convert's error
		input  string
		tenshi []Entry
	}{
		{
			// tenshi counts the line once per listing.
			name:   "queue listed twice",
			conf:   queues + "report,report ^b$\n",
			reason: "listed twice",
			input:  syslog("h", "b", "b"),
			tenshi: []Entry{{Queue: "report", Host: "h", Line: "b", Count: 4}},
		},
		{
			// tenshi takes "report," as the queue list and "esc:1 x$" as the regex.
			name:   "space after a comma",
			conf:   queues + "report, esc:1 x$\n",
			reason: "empty queue name",
			input:  syslog("h", "esc:1 x", "x"),
			tenshi: []Entry{{Queue: "report", Host: "h", Line: "esc:1 x", Count: 1}},
		},
		{
			// tenshi strips the prefix and, without a host, drops the line.
			name:   "prefix without a group",
			conf:   "set logprefix ^foo \n" + queues + "report .\n",
			reason: "no capturing group",
			input:  "foo bar\n" + syslog("h", "x"),
			tenshi: []Entry{{Queue: "report", Host: "h", Line: "x", Count: 1}},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := tryPrepareSmall(t, c.conf)
			switch {
			case err == nil:
				t.Errorf("tayori convert accepts it now: move the case to the differential tests")
			case !strings.Contains(err.Error(), c.reason):
				t.Errorf("tayori convert refuses it without saying %q: %v", c.reason, err)
			}
			t.Run("tenshi", func(t *testing.T) {
				wantEntries(t, "tenshi", tenshiSays(t, &setup{name: c.name, conf: c.conf}, c.input), c.tenshi)
			})
		})
	}
}
