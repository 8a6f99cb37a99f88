package web

import (
	"context"
	"fmt"
	"net/http"
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
	heartbeatPeriod  = 15 * time.Second
	watchInterval    = 250 * time.Millisecond
	reconnectDelayMS = 1000
	// watcherStale is how long the watcher may go without reading the database before readiness fails: many
	// missed polls, not one slow one.
	watcherStale = 20 * watchInterval
)

// hub fans change notices out to the event streams of open pages. One watcher feeds it; each stream holds a
// subscription to its page's topics.
type hub struct {
	mu      sync.Mutex
	subs    map[*subscription]struct{}
	version int64
	// done is closed when the server stops, ending every stream so that shutdown need not wait for them.
	done     chan struct{}
	doneOnce sync.Once
}

// subscription is one stream's interest in topics, and the topics that changed since it last wrote.
type subscription struct {
	topics  map[string]bool
	pending map[string]bool
	wake    chan struct{}
}

func newHub() *hub {
	return &hub{subs: make(map[*subscription]struct{}), done: make(chan struct{})}
}

func (h *hub) subscribe(topics []string) *subscription {
	s := &subscription{topics: make(map[string]bool), pending: make(map[string]bool), wake: make(chan struct{}, 1)}
	for _, t := range topics {
		s.topics[t] = true
	}
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	return s
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
	h.version = max(h.version, set.Version)
	for s := range h.subs {
		woken := false
		for t := range s.topics {
			if set.Everything || changed[t] {
				s.pending[t] = true
				woken = true
			}
		}
		if woken {
			select {
			case s.wake <- struct{}{}:
			default:
			}
		}
	}
}

// take returns the topics that changed for s since the last take, and the data version.
func (h *hub) take(s *subscription) ([]string, int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	topics := make([]string, 0, len(s.pending))
	for t := range s.pending {
		topics = append(topics, t)
	}
	clear(s.pending)
	return topics, h.version
}

func (h *hub) currentVersion() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.version
}

func (h *hub) close() {
	h.doneOnce.Do(func() { close(h.done) })
}

// Run watches the database for changes by this process or any other, and tells open pages, until ctx ends.
func (s *Server) Run(ctx context.Context) error {
	defer s.hub.close()
	version, err := models.CurrentVersion(ctx, s.db)
	if err != nil {
		return err
	}
	s.hub.publish(models.ChangeSet{Version: version})
	return s.watcher.Run(ctx, func(set models.ChangeSet) {
		s.log.Debug("data changed", "version", set.Version, "topics", len(set.Topics()))
		s.cache.bump()
		s.hub.publish(set)
	})
}

// events answers GET /events?topics=a,b with a Server-Sent Events stream: "hello" with the data version on
// connect, then one event named after each topic that changes, "changed" after each batch, and "ping" every
// 15 s so proxies and the page know the stream is alive.
func (s *Server) events(w http.ResponseWriter, r *http.Request) error {
	topics, err := parseTopics(r.URL.Query().Get("topics"))
	if err != nil {
		return err
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

	sub := s.hub.subscribe(topics)
	defer s.hub.unsubscribe(sub)
	write := func(text string) bool {
		if _, err := fmt.Fprint(w, text); err != nil {
			return false
		}
		return controller.Flush() == nil
	}
	if !write("retry: " + strconv.Itoa(reconnectDelayMS) + "\nevent: hello\ndata: " + strconv.FormatInt(s.hub.currentVersion(), 10) + "\n\n") {
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
			changed, version := s.hub.take(sub)
			var b strings.Builder
			data := strconv.FormatInt(version, 10)
			for _, t := range changed {
				b.WriteString("event: " + t + "\ndata: " + data + "\n\n")
			}
			b.WriteString("event: changed\ndata: " + data + "\n\n")
			if !write(b.String()) {
				return nil
			}
		}
	}
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
