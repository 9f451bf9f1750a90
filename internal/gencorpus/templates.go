package gencorpus

// PID says how the process id in "prog[pid]:" behaves from line to line of
// one program on one host.
type PID uint8

const (
	NoPID      PID = iota // "prog: message", as the kernel and sudo log
	StablePID             // a daemon: the same pid for a long time
	SessionPID            // a process per connection: a new pid now and then
	FreshPID              // a new process for every line (cron jobs)
	PID1                  // systemd[1]
)

// Template is the shape of one kind of syslog message. Message is literal
// text with placeholders:
//
//	{ip}         an IPv4 address (a few recur often, as attackers' do)
//	{port}       a client port, 1024-65535
//	{user}       a user name, a few common ones most often
//	{host}       a remote host name
//	{int:LO-HI}  a decimal number in [LO, HI]
//	{dig:N}      N decimal digits
//	{hex:N}      N lower-case hex digits; {HEX:N} upper-case
//	{b64:N}      N base64 characters
//	{pick:A|B}   one of the alternatives, equally likely
//
// A "{" that starts no placeholder is literal.
type Template struct {
	Prog    string // program name as logged, e.g. "sshd" or "postfix/qmgr"
	PID     PID
	Message string
	Weight  int // relative frequency within its group
}

// builtinNormal are messages of the kinds loghub's Linux and OpenSSH samples
// hold, and other common ones: mostly what a digest should report.
func builtinNormal() []Template {
	return []Template{
		{"sshd", SessionPID, "Failed password for {user} from {ip} port {port} ssh2", 30},
		{"sshd", SessionPID, "Failed password for invalid user {user} from {ip} port {port} ssh2", 20},
		{"sshd", SessionPID, "Invalid user {user} from {ip}", 15},
		{"sshd", SessionPID, "input_userauth_request: invalid user {user} [preauth]", 10},
		{"sshd", SessionPID, "pam_unix(sshd:auth): check pass; user unknown", 10},
		{"sshd", SessionPID, "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={ip} ", 12},
		{"sshd", SessionPID, "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={host}  user={user}", 4},
		{"sshd", SessionPID, "reverse mapping checking getaddrinfo for {host} [{ip}] failed - POSSIBLE BREAK-IN ATTEMPT!", 8},
		{"sshd", SessionPID, "Received disconnect from {ip}: 11: Bye Bye [preauth]", 10},
		{"sshd", SessionPID, "Connection closed by {ip} [preauth]", 10},
		{"sshd", SessionPID, "PAM {int:2-5} more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost={ip}  user={user}", 3},
		{"sshd", SessionPID, "error: maximum authentication attempts exceeded for {user} from {ip} port {port} ssh2 [preauth]", 2},
		{"sshd", SessionPID, "Did not receive identification string from {ip}", 2},
		{"sshd(pam_unix)", SessionPID, "authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost={ip} ", 8},
		{"sshd(pam_unix)", SessionPID, "check pass; user unknown", 4},
		{"su(pam_unix)", SessionPID, "session opened for user {pick:cyrus|news|postgres|root} by (uid=0)", 3},
		{"su(pam_unix)", SessionPID, "session closed for user {pick:cyrus|news|postgres|root}", 3},
		{"ftpd", FreshPID, "connection from {ip} ({host}) at {pick:Mon|Tue|Wed|Thu|Fri|Sat|Sun} {pick:Jun|Jul} {int:10-28} {dig:2}:{dig:2}:{dig:2} 2005", 6},
		{"klogind", SessionPID, "Authentication failed from {ip} ({host}): Permission denied in replay cache code", 2},
		{"kernel", NoPID, "[UFW BLOCK] IN=eth0 OUT= MAC={hex:2}:{hex:2}:{hex:2}:{hex:2}:{hex:2}:{hex:2}:{hex:2}:{hex:2}:{hex:2}:{hex:2}:{hex:2}:{hex:2}:08:00 SRC={ip} DST={ip} LEN={int:40-1500} TOS=0x00 PREC=0x00 TTL={int:30-250} ID={int:1-65535} PROTO=TCP SPT={port} DPT={pick:22|23|80|443|445|3389|8080} WINDOW={int:1024-65535} RES=0x00 SYN URGP=0", 15},
		{"kernel", NoPID, `audit: type=1400 audit({int:1700000000-1799999999}.{dig:3}:{int:100-99999}): apparmor="DENIED" operation="open" profile="{pick:/usr/sbin/cupsd|/usr/sbin/named|snap.lxd.daemon}" name="/proc/{int:1-99999}/status" pid={int:300-99999} comm="{pick:cupsd|named|lxd}" requested_mask="r" denied_mask="r" fsuid=0 ouid=0`, 3},
		{"kernel", NoPID, "Out of memory: Killed process {int:300-99999} ({pick:java|mysqld|php-fpm8.2}) total-vm:{int:100000-9999999}kB, anon-rss:{int:10000-999999}kB, file-rss:0kB, shmem-rss:0kB, UID:{int:0-1999} pgtables:{int:100-9999}kB oom_score_adj:0", 1},
		{"kernel", NoPID, "EXT4-fs (sd{pick:a|b}{int:1-3}): mounted filesystem with ordered data mode. Opts: (null)", 1},
		{"kernel", NoPID, "e1000e: eth{int:0-1} NIC Link is {pick:Up 1000 Mbps Full Duplex, Flow Control: Rx/Tx|Down}", 1},
		{"kernel", NoPID, "[{int:1-99999}.{dig:6}] usb {int:1-4}-{int:1-4}: new high-speed USB device number {int:2-20} using xhci_hcd", 1},
		{"logrotate", NoPID, "ALERT exited abnormally with [1]", 1},
		{"named", StablePID, "client @0x{hex:12} {ip}#{port} ({host}): query (cache) '{host}/A/IN' denied", 4},
		{"named", StablePID, "lame server resolving '{host}' (in '{host}'?): {ip}#53", 2},
		{"sudo", NoPID, "{user} : TTY=pts/{int:0-9} ; PWD=/home/{user} ; USER=root ; COMMAND=/usr/bin/{pick:apt update|systemctl restart nginx|journalctl -xe|tail -f /var/log/syslog}", 3},
		{"sudo", NoPID, "{user} : 3 incorrect password attempts ; TTY=pts/{int:0-9} ; PWD=/home/{user} ; USER=root ; COMMAND=/bin/bash", 1},
		{"postfix/smtpd", SessionPID, "NOQUEUE: reject: RCPT from unknown[{ip}]: 554 5.7.1 <{user}@{host}>: Relay access denied; from=<{user}@{host}> to=<{user}@{host}> proto=ESMTP helo=<{host}>", 4},
		{"postfix/smtpd", SessionPID, "warning: unknown[{ip}]: SASL LOGIN authentication failed: UGFzc3dvcmQ6", 4},
		{"systemd", PID1, "{pick:nginx|mysql|php8.2-fpm|postgresql@15-main}.service: Main process exited, code=exited, status=1/FAILURE", 1},
		{"systemd", PID1, "Failed to start {pick:nginx|mysql|php8.2-fpm}.service - {pick:A high performance web server|MySQL Community Server|The PHP FastCGI Process Manager}.", 1},
		{"smartd", StablePID, "Device: /dev/sd{pick:a|b|c} [SAT], SMART Usage Attribute: 194 Temperature_Celsius changed from {int:30-45} to {int:30-45}", 2},
		{"snmpd", StablePID, "Connection from UDP: [{ip}]:{port}->[{ip}]:161", 2},
		{"nginx", StablePID, `{int:1-9999}#{int:0-9}: *{int:1-999999} open() "/var/www/html/{pick:wp-login.php|.env|phpmyadmin/index.php|.git/config}" failed (2: No such file or directory), client: {ip}, server: {host}, request: "GET /{pick:wp-login.php|.env|phpmyadmin/|.git/config} HTTP/1.1"`, 5},
		{"mysqld", StablePID, "[Warning] Aborted connection {int:1-999999} to db: '{pick:app|wordpress|shop}' user: '{user}' host: '{ip}' (Got timeout reading communication packets)", 2},
	}
}

// builtinLogcheck are messages that logcheck's ignore.d.server rules match:
// routine cron, systemd, session and mail traffic.
func builtinLogcheck() []Template {
	return []Template{
		{"CRON", FreshPID, "(root) CMD ({pick:command -v debian-sa1 > /dev/null && debian-sa1 1 1|   cd / && run-parts --report /etc/cron.hourly|[ -x /usr/lib/php/sessionclean ] && if [ ! -d /run/systemd/system ]; then /usr/lib/php/sessionclean; fi|/usr/local/bin/backup.sh >/dev/null 2>&1})", 30},
		{"CRON", FreshPID, "(www-data) CMD (php /var/www/html/cron.php > /dev/null)", 5},
		{"CRON", FreshPID, "pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)", 15},
		{"CRON", FreshPID, "pam_unix(cron:session): session opened for user www-data(uid=33) by (uid=0)", 3},
		{"CRON", FreshPID, "pam_unix(cron:session): session closed for user {pick:root|www-data}", 18},
		{"systemd", PID1, "Started Session {int:1-99999} of User {user}.", 6},
		{"systemd", PID1, "session-{int:1-99999}.scope: Deactivated successfully.", 6},
		{"systemd", PID1, "{pick:logrotate|man-db|apt-daily|apt-daily-upgrade|phpsessionclean|sysstat-collect}.service: Deactivated successfully.", 8},
		{"systemd", PID1, "Finished {pick:logrotate.service - Rotate log files|man-db.service - Daily man-db regeneration|phpsessionclean.service - Clean php session files|sysstat-collect.service - system activity accounting tool}.", 8},
		{"systemd", PID1, "{pick:logrotate|man-db|sysstat-collect}.service: Consumed {int:0-9}.{dig:3}s CPU time.", 4},
		{"systemd-logind", StablePID, "New session {int:1-99999} of user {user}.", 4},
		{"systemd-logind", StablePID, "Session {int:1-99999} logged out. Waiting for processes to exit.", 4},
		{"systemd-logind", StablePID, "Removed session {int:1-99999}.", 4},
		{"sshd", SessionPID, "Accepted publickey for {user} from {ip} port {port} ssh2: ED25519 SHA256:{b64:43}", 3},
		{"sshd", SessionPID, "pam_unix(sshd:session): session opened for user {user}(uid={int:1000-1999}) by (uid=0)", 3},
		{"sshd", SessionPID, "pam_unix(sshd:session): session closed for user {user}", 3},
		{"sshd", SessionPID, "Received disconnect from {ip} port {port}:11: disconnected by user", 3},
		{"sshd", SessionPID, "Disconnected from user {user} {ip} port {port}", 3},
		{"postfix/pickup", StablePID, "{HEX:10}: uid=0 from=<root>", 3},
		{"postfix/cleanup", SessionPID, "{HEX:10}: message-id=<{dig:14}.{HEX:8}@{host}>", 5},
		{"postfix/qmgr", StablePID, "{HEX:10}: from=<{user}@{host}>, size={int:500-99999}, nrcpt=1 (queue active)", 5},
		{"postfix/qmgr", StablePID, "{HEX:10}: removed", 5},
		{"sudo", NoPID, "pam_unix(sudo:session): session opened for user root(uid=0) by {user}(uid={int:1000-1999})", 2},
		{"sudo", NoPID, "pam_unix(sudo:session): session closed for user root", 2},
		{"anacron", StablePID, "Normal exit ({int:1-3} job run)", 1},
	}
}

// builtinUnprefixed are lines without a syslog prefix: continuation lines of
// multi-line messages that reach a log file as they are.
func builtinUnprefixed() []Template {
	return []Template{
		{"", NoPID, "    at org.apache.catalina.core.StandardWrapperValve.invoke(StandardWrapperValve.java:{int:100-999})", 3},
		{"", NoPID, " [<ffffffff{hex:8}>] ? {pick:warn_slowpath_common|dump_stack|panic}+0x{hex:2}/0x{hex:3}", 2},
		{"", NoPID, "Traceback (most recent call last):", 1},
		{"", NoPID, `  File "/usr/lib/python3/dist-packages/{pick:apt|requests|urllib3}/{pick:cache|models|connection}.py", line {int:10-999}, in {pick:open|send|request}`, 2},
		{"", NoPID, "-- MARK --", 1},
	}
}
