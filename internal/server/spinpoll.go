package server

import "time"

// spinPolicy decides how long an event loop polls for events before it
// sleeps in epoll_wait, in the manner of the kernel's haltpoll cpuidle
// governor. Under a request-response load the next request often comes a
// few microseconds after the loop ran out of work; sleeping then costs a
// wake-up on both sides (the client's write must wake the loop's thread,
// which must be scheduled again), and on this project's 2-core benchmark
// machine that was worth 5-10% of pipeline-1 throughput.
//
// The rules: a sleep that ends within spinMax turns polling on (for
// spinStart); each poll that finds events doubles the poll time (up to
// spinMax) and each one that finds none halves it, to 0 below spinStart.
// Once off, polling stays off for the backoff, which doubles each time
// polling goes off again (up to spinBackoffMax) and halves with each poll
// that succeeds. Polling is also off while the machine has more runnable
// tasks than CPUs (asked when polling would start and every
// spinCheckEvery while it goes on): a CPU the loop polls on is then one
// that the processes it waits for (clients, other servers) lack. So a
// loop polls only while polling succeeds and takes a CPU nobody else
// needs: never when idle, never on a crowded machine.
//
// It holds no clock and no system calls: the loop passes the time (ms)
// and a function that tells whether CPUs are to spare.
type spinPolicy struct {
	spin      time.Duration // the next poll's length, 0 when off
	offAt     int64         // when polling last went off (ms)
	backoff   int64         // how long it then stays off (ms)
	checkedAt int64         // when CPUs to spare were last asked for (ms)
}

const (
	spinStart      = 8 * time.Microsecond
	spinMax        = 64 * time.Microsecond
	spinBackoffMin = 1    // ms
	spinBackoffMax = 1000 // ms
	spinCheckEvery = 5    // ms
)

// considered reports whether polling is on or may start now: when it is
// not, the loop need not look for events before it sleeps (it would learn
// nothing from how long the sleep takes).
func (p *spinPolicy) considered(now int64) bool {
	return p.spin > 0 || now-p.offAt >= p.backoff
}

// budget returns how long to poll before sleeping (0: sleep at once).
func (p *spinPolicy) budget(now int64, cpusToSpare func() bool) time.Duration {
	if p.spin > 0 && now-p.checkedAt >= spinCheckEvery {
		p.checkedAt = now
		if !cpusToSpare() {
			p.off(now)
		}
	}
	return p.spin
}

// hit records a poll that found events.
func (p *spinPolicy) hit() {
	p.spin = min(2*p.spin, spinMax)
	p.backoff = max(p.backoff/2, spinBackoffMin)
}

// miss records a poll that found nothing before its time ran out.
func (p *spinPolicy) miss(now int64) {
	if p.spin /= 2; p.spin < spinStart {
		p.off(now)
	}
}

// slept records a wait that ended after waited (polling included).
func (p *spinPolicy) slept(now int64, waited time.Duration, cpusToSpare func() bool) {
	if p.spin > 0 || now-p.offAt < p.backoff {
		return
	}
	if waited > spinMax {
		// A quiet loop: it looks again (considered) only after the
		// shortest backoff, not before every sleep.
		p.offAt = now
		p.backoff = max(p.backoff, spinBackoffMin)
		return
	}
	p.checkedAt = now
	if cpusToSpare() {
		p.spin = spinStart
	} else {
		p.off(now)
	}
}

// off stops polling for the backoff, and doubles it for the next time.
func (p *spinPolicy) off(now int64) {
	p.spin = 0
	p.offAt = now
	p.backoff = min(max(2*p.backoff, spinBackoffMin), spinBackoffMax)
}

// loadavgRunning parses the count of runnable tasks, the part before the
// slash of /proc/loadavg's fourth field ("0.20 0.18 0.12 1/80 11206").
func loadavgRunning(b []byte) (int, bool) {
	field := 0
	for i := 0; i < len(b); i++ {
		if b[i] == ' ' {
			field++
			continue
		}
		if field == 3 {
			n, digits := 0, 0
			for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
				n = n*10 + int(b[i]-'0')
				digits++
			}
			return n, digits > 0 && i < len(b) && b[i] == '/'
		}
	}
	return 0, false
}
