package ruleset

import (
	"context"

	"github.com/vigilsec/vigil/streams"
	"github.com/vigilsec/vigil/topics"
)

// App is a stream app that runs on rules a Watcher keeps current (the
// detect and correlate apps): Run runs the app and the watcher together.
type App struct {
	*streams.Runner
	Watcher *Watcher
	// Decl are the topics the app declares (plugin.TopicDeclarer).
	Decl []topics.Spec
}

// Topics implements plugin.TopicDeclarer.
func (a *App) Topics() []topics.Spec { return a.Decl }

// Run runs the app and watches its rules until ctx is done.
func (a *App) Run(ctx context.Context) error {
	go func() { _ = a.Watcher.Run(ctx) }()
	return a.Runner.Run(ctx)
}
