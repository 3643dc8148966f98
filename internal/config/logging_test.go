package config

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
)

func TestZerologLevel(t *testing.T) {
	for name, want := range map[string]zerolog.Level{
		"debug": zerolog.TraceLevel, "verbose": zerolog.DebugLevel, "notice": zerolog.InfoLevel,
		"warning": zerolog.WarnLevel, "NOTICE": zerolog.InfoLevel,
	} {
		require.Equal(t, want, ZerologLevel(name), name)
	}
}

func TestLoggerFileLevelsAndFormat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "redis.log")
	require.NoError(t, os.WriteFile(path, []byte("old line\n"), 0o644))
	c, err := Load([]string{"--logfile", path, "--loglevel", "notice"})
	require.NoError(t, err)
	log, closer, err := NewLogger(c)
	require.NoError(t, err)
	defer closer.Close()

	log.Debug().Msg("hidden verbose")
	log.Info().Msg("shown notice")
	log.Warn().Str("k", "v").Msg("shown warning")
	// CONFIG SET loglevel applies at once
	_, err = c.SetMany([]string{"loglevel", "debug"}, true)
	require.NoError(t, err)
	log.Trace().Msg("shown debug")
	_, err = c.SetMany([]string{"loglevel", "warning"}, true)
	require.NoError(t, err)
	log.Info().Msg("hidden notice")

	data, err := os.ReadFile(path)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	require.Len(t, lines, 4, "%q", data)
	require.Equal(t, "old line", lines[0], "the log file is appended to")
	prefix := fmt.Sprintf(`^%d:M \d\d \w{3} \d{4} \d\d:\d\d:\d\d\.\d{3} `, os.Getpid())
	require.Regexp(t, regexp.MustCompile(prefix+`\* shown notice$`), lines[1])
	require.Regexp(t, regexp.MustCompile(prefix+`# shown warning k=v$`), lines[2])
	require.Regexp(t, regexp.MustCompile(prefix+`\. shown debug$`), lines[3])
}

func TestLoggerBadFile(t *testing.T) {
	c := Default()
	c.LogFile = "/nonexistent-redcluster-dir/x.log"
	_, _, err := NewLogger(c)
	require.ErrorContains(t, err, "can't open the log file")
}
