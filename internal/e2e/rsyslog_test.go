//go:build linux

package e2e

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRsyslogLogHost runs tayori on a central log host made of Debian's rsyslogd: rsyslogd receives
// syslog over UDP on 127.0.0.1 and writes one file per host (a dynaFile named after %HOSTNAME%),
// logger(1) sends the messages, tayori follows the per-host files and mails a real SMTP server.
// The digests must count every message exactly, per host and masked line, and the immediate mail
// of a critical line must arrive within the batching window plus one second of the logger call.
//
// logger (util-linux 2.38) has no option to set the host name it sends, so each host's messages
// are sent from a UTS namespace of their own (unshare --uts) whose host name is set; where
// namespaces are not allowed, all messages come from this machine's name.
func TestRsyslogLogHost(t *testing.T) {
	if testing.Short() {
		t.Skip("slow end-to-end test with rsyslogd; runs without -short")
	}
	rsyslogd, logger := tool(t, "rsyslogd"), tool(t, "logger")
	const batch = time.Second

	dir := t.TempDir()
	hostDir := filepath.Join(dir, "remote")
	if err := os.Mkdir(hostDir, 0o755); err != nil {
		t.Fatal(err)
	}
	port := freeUDPPort(t)
	rs := startRsyslogd(t, rsyslogd, dir, hostDir, port)

	sent := 0 // messages sent, the warm-up ones excepted
	send := func(host, tag string, msgs []string) {
		t.Helper()
		if tag != "warmup" {
			sent += len(msgs)
		}
		args := []string{"--server", "127.0.0.1", "--port", strconv.Itoa(port), "--udp", "--rfc3164", "-t", tag}
		if tag != "kernel" {
			args = append(args, "--id=4242") // "sshd[4242]: ", as a daemon logs
		}
		var cmd *exec.Cmd
		if host == "" {
			cmd = exec.Command(logger, args...)
		} else {
			cmd = exec.Command("unshare", append([]string{"--uts", "sh", "-c", `hostname "$0" && exec "$@"`, host, logger}, args...)...)
		}
		cmd.Stdin = strings.NewReader(strings.Join(msgs, "\n") + "\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", cmd.Args, err, out)
		}
	}

	// The machine's own name is what logger sends without a namespace; rsyslogd is up once a
	// message of it is in a file.
	self, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	self, _, _ = strings.Cut(self, ".")
	warm := filepath.Join(hostDir, self+".log")
	deadline := time.Now().Add(waitLong)
	for !exists(warm) {
		if time.Now().After(deadline) {
			t.Fatalf("rsyslogd wrote no file for %s within %v; its output:\n%s", self, waitLong, rs.String())
		}
		send("", "warmup", []string{"rsyslogd is up"})
		waitFile(warm, time.Second)
	}

	hosts := []string{"web1", "web2", "db1", "mail1"}
	if err := exec.Command("unshare", "--uts", "true").Run(); err != nil {
		t.Logf("unshare --uts is not allowed here (%v): every message comes from %s", err, self)
		hosts = []string{""}
	}
	hostName := func(h string) string {
		if h == "" {
			return self
		}
		return h
	}

	e := newEnv(t, func(e *env) string {
		return fmt.Sprintf(`[settings]
hide_pid = true
limit = 0
max_lines_per_host = 0
subject = "loghost"

[sources]
files = [%q]
rescan = "250ms"

[mail]
server = %q
tls = "none"
batch = %q

[queues.critical]
from = "tayori@loghost.e2e.test"
to = "oncall@e2e.test"
schedule = "now"
subject = "loghost CRITICAL"

[queues.daily]
from = "tayori@loghost.e2e.test"
to = "root@e2e.test"
schedule = "30 7 * * *"

[[rules]]
queue = "critical"
match = '^kernel: Oops'

[[rules]]
queue = "daily"
match = ['^sshd: Invalid user (\S*) from (\S+)', '^sshd: Accepted (\S+) for (\S+) from (\S+) port (\d+)', '^cron: ']
`, filepath.Join(hostDir, "*.log"), e.mail.addr, batch.String())
	})
	e.start()
	e.waitOpen(warm)

	// Messages, sent in rounds of at most 50 per host, each round waiting until rsyslogd wrote it,
	// so that no UDP datagram can be dropped by a full socket buffer.
	fileLines := map[string]int{} // lines each host's file must have
	sendRound := func(host, tag, queue string, msgs, masked []string) {
		t.Helper()
		name := hostName(host)
		path := filepath.Join(hostDir, name+".log")
		if _, ok := fileLines[path]; !ok {
			fileLines[path] = countLines(path)
		}
		for len(msgs) > 0 {
			n := min(len(msgs), 50)
			send(host, tag, msgs[:n])
			fileLines[path] += n
			want := fileLines[path]
			e.waitUntil(fmt.Sprintf("rsyslogd to write %d lines to %s", want, path), waitLong, func() bool {
				return countLines(path) >= want
			})
			if queue != "" {
				for _, m := range masked[:n] {
					e.expect(queue, name, m, 1)
				}
			}
			msgs, masked = msgs[n:], masked[n:]
		}
	}
	traffic := func(round int) {
		for hi, h := range hosts {
			var invalid, accepted, cron, maskedInvalid, maskedAccepted, cronText []string
			for i := range 60 + 20*hi {
				invalid = append(invalid, fmt.Sprintf("Invalid user u%d from 198.51.100.%d", i%7, i%250))
				maskedInvalid = append(maskedInvalid, "sshd: Invalid user ___ from ___")
			}
			for i := range 15 {
				accepted = append(accepted, fmt.Sprintf("Accepted publickey for deploy from 192.0.2.%d port %d ssh2", i, 40000+i))
				maskedAccepted = append(maskedAccepted, "sshd: Accepted ___ for ___ from ___ port ___ ssh2")
			}
			for i := range 40 {
				cron = append(cron, fmt.Sprintf("(root) CMD (job %d of round %d)", i, round))
				cronText = append(cronText, fmt.Sprintf("cron: (root) CMD (job %d of round %d)", i, round))
			}
			sendRound(h, "sshd", "daily", invalid, maskedInvalid)
			sendRound(h, "sshd", "daily", accepted, maskedAccepted)
			sendRound(h, "cron", "daily", cron, cronText)
			sendRound(h, "noise", "", []string{"no rule takes this line"}, []string{""})
		}
	}
	traffic(1)

	// Critical lines, one host at a time: each one's mail must arrive within batch + 1 s.
	var worst time.Duration
	for i, h := range hosts {
		text := fmt.Sprintf("Oops: 0002 [#%d] SMP", i+1)
		before := e.mail.count()
		logged := time.Now()
		send(h, "kernel", []string{text})
		e.expect("critical", hostName(h), "kernel: "+text, 1)
		var got *receivedMail
		e.waitUntil("the critical mail of "+hostName(h), waitLong, func() bool {
			for _, m := range e.mail.received()[before:] {
				if m.Queue == "critical" {
					got = m
					return true
				}
			}
			return false
		})
		latency := got.At.Sub(logged)
		worst = max(worst, latency)
		t.Logf("critical line of %s: mail received %v after the logger call (batch %v)", hostName(h), latency.Round(time.Millisecond), batch)
		if latency > batch+time.Second {
			t.Errorf("the critical mail of %s arrived %v after the line was logged, want at most batch + 1 s = %v",
				hostName(h), latency, batch+time.Second)
		}
		if got.Subject != "loghost CRITICAL [critical]" {
			t.Errorf("critical mail subject %q", got.Subject)
		}
	}

	e.signal(syscall.SIGUSR2) // the daily digest, now
	e.waitCounted()
	traffic(2)
	// SIGTERM mails what was read; a last critical line per host, once mailed, shows that all of
	// each host's file was.
	for _, h := range hosts {
		send(h, "kernel", []string{"Oops: last line"})
		e.expect("critical", hostName(h), "kernel: Oops: last line", 1)
	}
	e.waitCounted("critical")
	e.stop() // the rest of the daily digest, at exit
	lines, mails := e.checkExact(false)
	received := e.mail.received()
	digests := 0
	for _, m := range received {
		if m.Queue == "daily" {
			digests++
		}
	}
	if last := received[len(received)-1]; last.Queue != "daily" || !strings.HasPrefix(last.Body, "*** Status: terminating ***") {
		t.Errorf("the last mail is not the terminating digest: %s\n%s", last.Subject, tail(last.Body, 5))
	}
	t.Logf("rsyslogd + logger: %d messages sent from %d hosts (%d of them taken by no rule), %d lines counted exactly once in %d mails (%d digests, %d critical); worst critical latency %v with batch %v",
		sent, len(hosts), sent-lines, lines, mails, digests, mails-digests, worst.Round(time.Millisecond), batch)
}

// tool finds a program the test needs; it fails in CI (which installs it) and skips elsewhere.
func tool(t *testing.T, name string) string {
	t.Helper()
	for _, p := range []string{name, "/usr/sbin/" + name, "/sbin/" + name} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is not installed (.ci/run installs it)", name)
	}
	t.Skipf("%s is not installed (apt-get install rsyslog bsdutils)", name)
	return ""
}

// freeUDPPort returns a UDP port of 127.0.0.1 that was free a moment ago.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// startRsyslogd runs rsyslogd in the foreground, as a central log host is set up: UDP syslog on
// 127.0.0.1:port, one file per sending host under hostDir. It is stopped when the test ends.
func startRsyslogd(t *testing.T, rsyslogd, dir, hostDir string, port int) *syncBuffer {
	t.Helper()
	work := filepath.Join(dir, "rsyslog-work")
	if err := os.Mkdir(work, 0o700); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "rsyslog.conf")
	text := fmt.Sprintf(`global(workDirectory=%q)
module(load="imudp")
template(name="PerHost" type="string" string=%q)
ruleset(name="remote") {
	action(type="omfile" dynaFile="PerHost" template="RSYSLOG_TraditionalFileFormat")
}
input(type="imudp" address="127.0.0.1" port="%d" ruleset="remote")
`, work, filepath.Join(hostDir, "%HOSTNAME%.log"), port)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(rsyslogd, "-N1", "-f", conf).CombinedOutput(); err != nil {
		t.Fatalf("rsyslogd -N1 refuses the configuration: %v\n%s", err, out)
	}
	out := &syncBuffer{}
	cmd := exec.Command(rsyslogd, "-n", "-f", conf, "-i", filepath.Join(dir, "rsyslogd.pid"))
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("cannot start rsyslogd: %v", err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("rsyslogd output:\n%s", out.String())
		}
	})
	return out
}

// waitFile waits up to limit for path to exist.
func waitFile(path string, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for !exists(path) && time.Now().Before(deadline) {
		time.Sleep(pollEvery)
	}
}

// countLines counts the complete lines of a file (0 if it does not exist).
func countLines(path string) int {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return bytes.Count(data, []byte("\n"))
}
