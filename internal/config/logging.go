package config

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// LevelVar is a log level that can change while the server runs (CONFIG
// SET loglevel).
type LevelVar struct{ v atomic.Int32 }

// Set stores a Redis log level name (debug, verbose, notice, warning).
func (l *LevelVar) Set(name string) { l.v.Store(int32(ZerologLevel(name))) }

// Level returns the current level.
func (l *LevelVar) Level() zerolog.Level { return zerolog.Level(l.v.Load()) }

// ZerologLevel maps Redis log levels to zerolog's: debug -> trace,
// verbose -> debug, notice -> info, warning -> warn.
func ZerologLevel(name string) zerolog.Level {
	switch strings.ToLower(name) {
	case "debug":
		return zerolog.TraceLevel
	case "verbose":
		return zerolog.DebugLevel
	case "warning":
		return zerolog.WarnLevel
	}
	return zerolog.InfoLevel
}

// levelWriter drops events below the LevelVar.
type levelWriter struct {
	w  io.Writer
	lv *LevelVar
}

func (w levelWriter) Write(p []byte) (int, error) { return w.w.Write(p) }

func (w levelWriter) WriteLevel(l zerolog.Level, p []byte) (int, error) {
	if l < w.lv.Level() && l != zerolog.NoLevel {
		return len(p), nil
	}
	return w.w.Write(p)
}

// logTimestamp is Redis's log time format, "22 Nov 2026 12:39:45.516".
func logTimestamp() string { return time.Now().Format("02 Jan 2006 15:04:05.000") }

// redisLevelMark is the character Redis prints for a level.
func redisLevelMark(i any) string {
	switch fmt.Sprint(i) {
	case "trace":
		return "."
	case "debug":
		return "-"
	case "info":
		return "*"
	}
	return "#"
}

// NewLogger opens the log like redis-server: appending to logfile, or to
// standard error when it is empty, at loglevel, in Redis's line format
// ("pid:M 22 Nov 2026 12:39:45.516 * message key=value"). It sets
// c.LogLevelVar so CONFIG SET loglevel applies at once. The returned
// closer closes the log file.
func NewLogger(c *Config) (zerolog.Logger, io.Closer, error) {
	var out io.Writer = os.Stderr
	var closer io.Closer = io.NopCloser(nil)
	if c.LogFile != "" {
		f, err := os.OpenFile(c.LogFile, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return zerolog.Nop(), nil, fmt.Errorf("can't open the log file: %w", err)
		}
		out, closer = f, f
	}
	if c.LogLevelVar == nil {
		c.LogLevelVar = &LevelVar{}
	}
	c.LogLevelVar.Set(c.LogLevel)
	pid := os.Getpid()
	cw := zerolog.ConsoleWriter{
		Out:         out,
		NoColor:     true,
		PartsOrder:  []string{zerolog.TimestampFieldName, zerolog.LevelFieldName, zerolog.MessageFieldName},
		FormatLevel: redisLevelMark,
		FormatTimestamp: func(any) string {
			return fmt.Sprintf("%d:M %s", pid, logTimestamp())
		},
	}
	log := zerolog.New(levelWriter{w: cw, lv: c.LogLevelVar}).Level(zerolog.TraceLevel)
	return log, closer, nil
}
