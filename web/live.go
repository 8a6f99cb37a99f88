package web

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"stackboard/handlers"
	"stackboard/models"
)

// Limits of a live-update subscription.
const (
	mostTopics       = 32
	mostTopicLength  = 200
	mostSinceLength  = 40
	heartbeatPeriod  = 15 * time.Second
	watchInterval    = 250 * time.Millisecond
	reconnectDelayMS = 1000
	// A failed change watcher is retried after watchRetryFirst, doubling up to watchRetryMost.
	watchRetryFirst = 250 * time.Millisecond
	watchRetryMost  = 30 * time.Second
	// The watcher is current while its last successful look is at most this old.
	watchCurrentFor = 20 * watchInterval
)

// hub fans change notices out to the event streams of open pages. One watcher feeds it; each stream holds a
// subscription to its page's topics.
type hub struct {
	mu   sync.Mutex
	subs map[*subscription]struct{}
	// version names the data announced so far (models.ChangeSet.Version).
	version string
	// stale is set while the change watcher is down: streams stay open and say so.
	stale bool
	// done is closed when the server stops, ending every stream so that shutdown need not wait for them.
	done     chan struct{}
	doneOnce sync.Once
}

// subscription is one stream's interest in topics, and the topics that changed since it last wrote.
type subscription struct {
	topics map[string]bool
	// visible lists the projects a scoped reader may see (nil: all); changes elsewhere do not reach it.
	visible []string
	pending map[string]bool
	wake    chan struct{}
}

func newHub() *hub {
	return &hub{subs: make(map[*subscription]struct{}), done: make(chan struct{})}
}

func (h *hub) subscribe(topics, visible []string) *subscription {
	s := &subscription{topics: make(map[string]bool), visible: visible, pending: make(map[string]bool), wake: make(chan struct{}, 1)}
	for _, t := range topics {
		s.topics[t] = true
	}
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	return s
}

// replay marks every topic of s as changed, for a stream that starts later than the data its page shows.
func (h *hub) replay(s *subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for t := range s.topics {
		s.pending[t] = true
	}
	s.notify()
}

func (h *hub) unsubscribe(s *subscription) {
	h.mu.Lock()
	delete(h.subs, s)
	h.mu.Unlock()
}

// publish marks the changed topics on every subscription that wants them and wakes its stream.
func (h *hub) publish(set models.ChangeSet) {
	changed := make(map[string]bool)
	for _, t := range set.Topics() {
		changed[t] = true
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.version = set.Version
	if set.Empty() {
		return
	}
	for s := range h.subs {
		if !set.Everything && s.visible != nil && !slices.ContainsFunc(set.Projects, func(p string) bool { return slices.Contains(s.visible, p) }) {
			continue
		}
		woken := false
		for t := range s.topics {
			if set.Everything || changed[t] {
				s.pending[t] = true
				woken = true
			}
		}
		if woken {
			s.notify()
		}
	}
}

func (s *subscription) notify() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// setStale records whether the change watcher is down, waking every stream when that changes.
func (h *hub) setStale(stale bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stale == stale {
		return
	}
	h.stale = stale
	for s := range h.subs {
		s.notify()
	}
}

// take returns the topics that changed for s since the last take, the data version, and whether the watcher is
// down.
func (h *hub) take(s *subscription) ([]string, string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	topics := make([]string, 0, len(s.pending))
	for t := range s.pending {
		topics = append(topics, t)
	}
	clear(s.pending)
	return topics, h.version, h.stale
}

func (h *hub) current() (string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.version, h.stale
}

func (h *hub) close() {
	h.doneOnce.Do(func() { close(h.done) })
}

// watchHealth is the change watcher's state: the health endpoint reports it, and the cache trusts itself only
// while the watcher is current.
type watchHealth struct {
	mu       sync.Mutex
	failure  error
	failures int
	// checked is the time of the last successful look; zero until Run starts watching.
	checked time.Time
}

func newWatchHealth() *watchHealth {
	return &watchHealth{}
}

// err says why the watcher is not current, or nil while it is. A server that is not watching (one that serves a
// test, or is still starting) has only its own writes to go by, and those it sees.
func (h *watchHealth) err() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.failure != nil {
		return h.failure
	}
	if age := time.Since(h.checked); !h.checked.IsZero() && age > watchCurrentFor {
		return fmt.Errorf("last looked at the database %s ago", age.Round(time.Millisecond))
	}
	return nil
}

func (h *watchHealth) current() bool {
	return h.err() == nil
}

// up records a successful look; it reports whether the watcher was down until now.
func (h *watchHealth) up() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	recovered := h.failure != nil
	h.failure, h.failures, h.checked = nil, 0, time.Now()
	return recovered
}

// down records a failure and returns how long to wait before the next try.
func (h *watchHealth) down(err error) time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.failure = err
	delay := watchRetryFirst << min(h.failures, 16)
	h.failures++
	return min(delay, watchRetryMost)
}

// Run watches the database for changes by this process or any other, and tells open pages, until ctx ends. A
// failing watcher is logged, reported by /healthz and retried with backoff; meanwhile streams stay open and say
// the page is stale, and reads bypass the cache, which cannot see other processes' writes.
func (s *Server) Run(ctx context.Context) error {
	defer s.hub.close()
	for {
		err := s.watchChanges(ctx)
		if ctx.Err() != nil {
			return nil
		}
		delay := s.watch.down(err)
		s.hub.setStale(true)
		s.log.ErrorContext(ctx, "change watcher failed; pages show stale data until it is back", "error", err, "retry_in", delay)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(delay):
		}
	}
}

// watchChanges runs one watcher until it fails or ctx ends.
func (s *Server) watchChanges(ctx context.Context) error {
	// The version is read before the cache is trusted again (markUp): whatever commits after it, the watcher
	// announces.
	watcher, err := models.NewWatcher(ctx, s.db, s.log, watchInterval)
	if err != nil {
		return err
	}
	version := watcher.Version()
	markUp := func() {
		if s.watch.up() {
			// Whatever changed while the watcher was down went unseen: nothing cached before now is trusted,
			// and pages fetch their fragments again when told the stream is live.
			s.cache.bump()
			s.hub.setStale(false)
		}
	}
	watcher.Checked = markUp
	s.hub.publish(models.ChangeSet{Version: version})
	markUp()
	return watcher.Run(ctx, func(set models.ChangeSet) {
		if !set.Empty() {
			s.log.Debug("data changed", "version", set.Version, "topics", len(set.Topics()))
			s.cache.bump()
		}
		s.hub.publish(set)
	})
}

// events answers GET /events?topics=a,b with a Server-Sent Events stream: "hello" with the data version on
// connect, then one event named after each topic that changes, "changed" after each batch, and "ping" every
// 15 s so proxies and the page know the stream is alive. With since=V (the version the page was rendered at, which
// may be another replica's) a stream whose version is not V starts with every topic's event, so that a change
// between the render and the subscription is not missed.
//
// A reader whose token sees only some projects may subscribe only to their topics, and hears only of their
// changes.
func (s *Server) events(w http.ResponseWriter, r *http.Request) error {
	topics, err := parseTopics(r.URL.Query().Get("topics"))
	if err != nil {
		return err
	}
	since, err := parseSince(r.URL.Query().Get("since"))
	if err != nil {
		return err
	}
	visible := handlers.RequestFrom(r.Context()).Access.VisibleProjects()
	if visible != nil {
		if err := models.CheckTopicsVisible(r.Context(), s.db, topics, visible); err != nil {
			return err
		}
	}
	controller := http.NewResponseController(w)
	// A stream lives longer than the server's write timeout allows a response to.
	if err := controller.SetWriteDeadline(time.Time{}); err != nil {
		return fmt.Errorf("events: %w", err)
	}
	if err := controller.SetReadDeadline(time.Time{}); err != nil {
		return fmt.Errorf("events: %w", err)
	}
	header := w.Header()
	header.Set("Content-Type", "text/event-stream")
	header.Set("Cache-Control", "no-store")
	header.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)

	sub := s.hub.subscribe(topics, visible)
	defer s.hub.unsubscribe(sub)
	write := func(text string) bool {
		if _, err := fmt.Fprint(w, text); err != nil {
			return false
		}
		return controller.Flush() == nil
	}
	version, stale := s.hub.current()
	if since != "" && since != version {
		// Something changed between the page's render and now: its topics are told at once.
		s.hub.replay(sub)
	}
	hello := "retry: " + strconv.Itoa(reconnectDelayMS) + "\nevent: hello\ndata: " + version + "\n\n"
	if stale {
		hello += staleEvent
	}
	if !write(hello) {
		return nil
	}
	heartbeat := time.NewTicker(heartbeatPeriod)
	defer heartbeat.Stop()
	for {
		select {
		case <-r.Context().Done():
			return nil
		case <-s.hub.done:
			return nil
		case <-heartbeat.C:
			if !write("event: ping\ndata: " + strconv.FormatInt(time.Now().Unix(), 10) + "\n\n") {
				return nil
			}
		case <-sub.wake:
			changed, version, nowStale := s.hub.take(sub)
			var b strings.Builder
			if nowStale != stale {
				stale = nowStale
				b.WriteString(liveEvent)
				if stale {
					b.Reset()
					b.WriteString(staleEvent)
				}
			}
			data := version
			for _, t := range changed {
				b.WriteString("event: " + t + "\ndata: " + data + "\n\n")
			}
			if len(changed) > 0 {
				b.WriteString("event: changed\ndata: " + data + "\n\n")
			}
			if b.Len() > 0 && !write(b.String()) {
				return nil
			}
		}
	}
}

// The events that tell a page the change watcher went down and came back.
const (
	staleEvent = "event: stale\ndata: the server cannot see changes right now\n\n"
	liveEvent  = "event: live\ndata: \n\n"
)

// parseSince reads the optional data version a page was rendered at (since=): digits, then perhaps a dot and
// more letters and digits.
func parseSince(value string) (string, error) {
	if len(value) > mostSinceLength || strings.Trim(value, "abcdefghijklmnopqrstuvwxyz0123456789.") != "" {
		return "", &handlers.Error{Status: http.StatusBadRequest, Message: fmt.Sprintf("since: %q is not a data version", value)}
	}
	return value, nil
}

// parseTopics reads a comma-separated topic list: names of letters, digits, '_', '-' and '.'.
func parseTopics(list string) ([]string, error) {
	if list == "" {
		return nil, &handlers.Error{Status: http.StatusBadRequest, Message: "topics: name at least one topic"}
	}
	topics := strings.Split(list, ",")
	if len(topics) > mostTopics {
		return nil, &handlers.Error{Status: http.StatusBadRequest, Message: fmt.Sprintf("topics: at most %d topics", mostTopics)}
	}
	for _, t := range topics {
		if t == "" || len(t) > mostTopicLength || strings.Trim(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") != "" {
			return nil, &handlers.Error{Status: http.StatusBadRequest, Message: fmt.Sprintf("topics: %q is not a topic name", t)}
		}
	}
	return topics, nil
}
