package signaling

import (
	"sync"
	"time"
)

// workers runs the short tasks of connections (reading what arrived,
// writing what is queued) on goroutines that are kept for reuse. A fresh
// goroutine would grow its stack again for every task; a CPU profile under
// load showed that stack growth cost about a tenth of the server's time.
// Idle workers wait for the next task; they all end when the server has no
// connection left (stop), so an idle server holds none.
type workers struct {
	tasks chan func()

	mu   sync.Mutex
	quit chan struct{} // closed by stop; replaced when work comes again
	idle int           // workers waiting for a task
}

// maxIdleWorkers bounds the goroutines kept waiting for work. The poller
// hands out a burst of reports at once, and each needs a waiting worker.
const maxIdleWorkers = 512

// workerIdle is how long a worker waits for a task before it ends, so a
// burst's workers do not outlive it by much.
const workerIdle = 5 * time.Second

func newWorkers() *workers {
	return &workers{tasks: make(chan func()), quit: make(chan struct{})}
}

// run runs f on an idle worker, or on a new one.
func (w *workers) run(f func()) {
	select {
	case w.tasks <- f:
	default:
		w.mu.Lock()
		quit := w.quit
		w.mu.Unlock()
		go w.loop(f, quit)
	}
}

func (w *workers) loop(f func(), quit chan struct{}) {
	var idle *time.Timer
	defer func() {
		if idle != nil {
			idle.Stop()
		}
	}()
	for {
		f()
		w.mu.Lock()
		if w.idle >= maxIdleWorkers {
			w.mu.Unlock()
			return
		}
		w.idle++
		w.mu.Unlock()
		if idle == nil {
			idle = time.NewTimer(workerIdle)
		} else {
			idle.Reset(workerIdle)
		}
		select {
		case f = <-w.tasks:
		case <-quit:
			f = nil
		case <-idle.C:
			f = nil
		}
		w.mu.Lock()
		w.idle--
		w.mu.Unlock()
		if f == nil {
			return
		}
	}
}

// stop ends the idle workers; busy ones end when their task is done and no
// other comes.
func (w *workers) stop() {
	w.mu.Lock()
	close(w.quit)
	w.quit = make(chan struct{})
	w.mu.Unlock()
}
