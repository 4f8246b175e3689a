package serve

import (
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// drainPoll is how long the listener, once stopped, waits for one more
// connection that the kernel has already accepted before it closes.
const drainPoll = 20 * time.Millisecond

// listener bounds the connections Serve holds open: Accept waits while
// max connections are open. stop ends accepting without resetting
// connections the kernel has already completed: Accept takes what the
// accept queue holds (even past the bound) until drainPoll after stop,
// then closes. A connection the kernel completes in the instant between
// the last Accept and the close is reset by the kernel (a socket filter
// that stops new handshakes first needs BPF, which not every kernel has).
type listener struct {
	net.Listener
	slots    chan struct{} // one per open connection
	stopping atomic.Bool
	stopAt   time.Time // when stop was called
	stopCh   chan struct{}
	stopOnce sync.Once
	close    sync.Once
	closeErr error
}

func newListener(ln net.Listener, max int) *listener {
	return &listener{Listener: ln, slots: make(chan struct{}, max), stopCh: make(chan struct{})}
}

// deadliner is a listener whose Accept can time out (*net.TCPListener,
// *net.UnixListener).
type deadliner interface{ SetDeadline(time.Time) error }

// stop makes Accept take what the kernel holds, then fail with
// net.ErrClosed.
func (l *listener) stop() {
	l.stopOnce.Do(func() {
		l.stopAt = time.Now()
		l.stopping.Store(true)
		close(l.stopCh)
		if d, ok := l.Listener.(deadliner); ok {
			_ = d.SetDeadline(time.Now()) // wakes a blocked Accept
		} else {
			l.Close()
		}
	})
}

// Accept waits for a free connection slot (not once stopping), then for a
// connection.
func (l *listener) Accept() (net.Conn, error) {
	slot := false
	if !l.stopping.Load() {
		select {
		case l.slots <- struct{}{}:
			slot = true
		case <-l.stopCh:
		}
	}
	release := func() {
		if slot {
			<-l.slots
		}
	}
	for drained := false; ; {
		if l.stopping.Load() {
			d, ok := l.Listener.(deadliner)
			if !ok {
				release()
				l.Close()
				return nil, net.ErrClosed
			}
			_ = d.SetDeadline(l.stopAt.Add(drainPoll))
			drained = true
		}
		c, err := l.Listener.Accept()
		if err == nil {
			if !slot {
				return c, nil
			}
			return &conn{Conn: c, release: l.slots}, nil
		}
		if !l.stopping.Load() {
			release()
			return nil, err
		}
		if !drained && errors.Is(err, os.ErrDeadlineExceeded) {
			continue // woken by stop: take what the kernel holds
		}
		// Nothing left in the backlog (or closed): accepting has ended. A
		// timeout must not reach http.Server, which retries it.
		release()
		l.Close()
		return nil, net.ErrClosed
	}
}

// Close closes the listener once; later calls return the first result.
func (l *listener) Close() error {
	l.close.Do(func() {
		l.closeErr = l.Listener.Close()
		if errors.Is(l.closeErr, os.ErrDeadlineExceeded) {
			l.closeErr = nil
		}
	})
	return l.closeErr
}

// conn frees its listener slot when closed.
type conn struct {
	net.Conn
	release chan struct{}
	once    sync.Once
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { <-c.release })
	return err
}
