package mailer

import "context"

// Deliverer hands one message to the next hop: an SMTP server, the local
// sendmail, a directory, a writer or a program.
//
// Deliver returns nil once the next hop has accepted responsibility for m.
// On failure, retry says whether trying the same message again later may
// succeed (SMTP 4xx, connection refused, timeout, EX_TEMPFAIL) or not (SMTP
// 5xx to the message, invalid address): see each deliverer for its table.
// Deliver must not keep m, must honour ctx, and must not panic on any body,
// including invalid UTF-8 and megabyte-long lines.
type Deliverer interface {
	Deliver(ctx context.Context, m *Message) (retry bool, err error)
}

// Checker may be implemented by a Deliverer whose idea of a deliverable
// message is not Message.Validate (the rules of mail). Outbox.Enqueue calls
// Check instead of Validate, to refuse at once what the deliverer would
// reject for good.
type Checker interface {
	Check(m *Message) error
}

// DelivererFunc adapts a function to the Deliverer interface.
type DelivererFunc func(ctx context.Context, m *Message) (retry bool, err error)

// Deliver calls f(ctx, m).
func (f DelivererFunc) Deliver(ctx context.Context, m *Message) (bool, error) {
	return f(ctx, m)
}
