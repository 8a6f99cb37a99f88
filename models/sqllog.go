package models

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// sqlLogger sends GORM's statements to slog: failures and statements slower than slow as warnings, every other
// statement at debug level (only built when debug is on).
type sqlLogger struct {
	log  *slog.Logger
	slow time.Duration
}

// LogSQL has db's statements logged through log, warning of those that take longer than slow (zero: none).
// Set it before serving: sessions made earlier keep the logger they had.
func LogSQL(db *gorm.DB, log *slog.Logger, slow time.Duration) {
	db.Config.Logger = sqlLogger{log: log, slow: slow}
}

// LogMode keeps the logger as it is: the slog handler's level decides what is written.
func (l sqlLogger) LogMode(logger.LogLevel) logger.Interface { return l }

// Info logs GORM's informational messages at debug level.
func (l sqlLogger) Info(ctx context.Context, msg string, args ...any) {
	l.log.DebugContext(ctx, "gorm: "+msg, "args", args)
}

// Warn logs GORM's warnings.
func (l sqlLogger) Warn(ctx context.Context, msg string, args ...any) {
	l.log.WarnContext(ctx, "gorm: "+msg, "args", args)
}

// Error logs GORM's errors.
func (l sqlLogger) Error(ctx context.Context, msg string, args ...any) {
	l.log.ErrorContext(ctx, "gorm: "+msg, "args", args)
}

// Trace logs one statement after it ran.
func (l sqlLogger) Trace(ctx context.Context, begin time.Time, fc func() (string, int64), err error) {
	took := time.Since(begin)
	switch {
	case err != nil && !errors.Is(err, gorm.ErrRecordNotFound) && !errors.Is(err, context.Canceled):
		statement, rows := fc()
		l.log.WarnContext(ctx, "sql failed", "sql", statement, "rows", rows, "duration_ms", took.Milliseconds(), "error", err)
	case l.slow > 0 && took > l.slow:
		statement, rows := fc()
		l.log.WarnContext(ctx, "slow sql", "sql", statement, "rows", rows, "duration_ms", took.Milliseconds(), "threshold_ms", l.slow.Milliseconds())
	case l.log.Enabled(ctx, slog.LevelDebug):
		statement, rows := fc()
		l.log.DebugContext(ctx, "sql", "sql", statement, "rows", rows, "duration_ms", took.Milliseconds())
	}
}
