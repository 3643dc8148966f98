package config

import (
	"fmt"
	"strconv"
	"strings"
)

// Load builds a configuration from redis-server style arguments:
// [/path/to/redis.conf] [--name value ...]. (Minimal: port and bind only;
// the full redis.conf grammar replaces this.)
func Load(args []string) (*Config, error) {
	c := Default()
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "--") {
			continue
		}
		name := strings.ToLower(a[2:])
		var vals []string
		for i+1 < len(args) && !strings.HasPrefix(args[i+1], "--") {
			i++
			vals = append(vals, args[i])
		}
		switch name {
		case "port":
			n, err := strconv.Atoi(vals[0])
			if err != nil {
				return nil, fmt.Errorf("bad port %q", vals[0])
			}
			c.Port = n
		case "bind":
			c.Bind = vals
		}
	}
	return c, nil
}
