package server

import (
	"strings"

	"github.com/redcluster/redcluster/internal/store"
)

func pubsubCommands() []*Command {
	subFlags := FlagPubSub | FlagNoScript | FlagLoading | FlagStale
	pubFlags := FlagPubSub | FlagLoading | FlagStale | FlagFast
	slow := []string{"pubsub", "slow"}
	fast := []string{"pubsub", "fast"}
	psub := func(name string, arity int, h func(*Ctx), since, summary, complexity string) *Command {
		return &Command{Name: name, Arity: arity, Flags: FlagPubSub | FlagLoading | FlagStale, Handler: h,
			Group: "pubsub", Since: since, Categories: slow, Summary: summary, Complexity: complexity}
	}
	return []*Command{
		{Name: "subscribe", Arity: -2, Flags: subFlags, Handler: cmdSubscribe, Group: "pubsub", Since: "2.0.0", Categories: slow,
			Summary: "Listen for messages published to the given channels", Complexity: "O(N) where N is the number of channels to subscribe to."},
		{Name: "unsubscribe", Arity: -1, Flags: subFlags, Handler: cmdUnsubscribe, Group: "pubsub", Since: "2.0.0", Categories: slow,
			Summary: "Stop listening for messages posted to the given channels", Complexity: "O(N) where N is the number of clients already subscribed to a channel."},
		{Name: "psubscribe", Arity: -2, Flags: subFlags, Handler: cmdPsubscribe, Group: "pubsub", Since: "2.0.0", Categories: slow,
			Summary: "Listen for messages published to channels matching the given patterns", Complexity: "O(N) where N is the number of patterns the client is already subscribed to."},
		{Name: "punsubscribe", Arity: -1, Flags: subFlags, Handler: cmdPunsubscribe, Group: "pubsub", Since: "2.0.0", Categories: slow,
			Summary: "Stop listening for messages posted to channels matching the given patterns", Complexity: "O(N+M) where N is the number of patterns the client is already subscribed and M is the number of total patterns subscribed in the system (by any client)."},
		{Name: "ssubscribe", Arity: -2, Flags: subFlags, FirstKey: 1, LastKey: -1, Step: 1, Handler: cmdSsubscribe, Group: "pubsub", Since: "7.0.0", Categories: slow,
			Summary: "Listen for messages published to the given shard channels", Complexity: "O(N) where N is the number of shard channels to subscribe to."},
		{Name: "sunsubscribe", Arity: -1, Flags: subFlags, FirstKey: 1, LastKey: -1, Step: 1, Handler: cmdSunsubscribe, Group: "pubsub", Since: "7.0.0", Categories: slow,
			Summary: "Stop listening for messages posted to the given shard channels", Complexity: "O(N) where N is the number of clients already subscribed to a shard channel."},
		{Name: "publish", Arity: 3, Flags: pubFlags, Handler: cmdPublish, Group: "pubsub", Since: "2.0.0", Categories: fast,
			Summary: "Post a message to a channel", Complexity: "O(N+M) where N is the number of clients subscribed to the receiving channel and M is the total number of subscribed patterns (by any client)."},
		{Name: "spublish", Arity: 3, Flags: pubFlags, FirstKey: 1, LastKey: 1, Step: 1, Handler: cmdSpublish, Group: "pubsub", Since: "7.0.0", Categories: fast,
			Summary: "Post a message to a shard channel", Complexity: "O(N) where N is the number of clients subscribed to the receiving shard channel."},
		{Name: "pubsub", Arity: -2, Group: "pubsub", Since: "2.8.0", Categories: []string{"slow"},
			Summary: "A container for Pub/Sub commands", Complexity: "Depends on subcommand.",
			Subs: map[string]*Command{
				"channels": psub("channels", -2, cmdPubsubChannels, "2.8.0", "List active channels",
					"O(N) where N is the number of active channels, and assuming constant time pattern matching (relatively short channels and patterns)"),
				"numsub": psub("numsub", -2, cmdPubsubNumsub, "2.8.0", "Get the count of subscribers for channels",
					"O(N) for the NUMSUB subcommand, where N is the number of requested channels"),
				"numpat": psub("numpat", 2, cmdPubsubNumpat, "2.8.0", "Get the count of unique patterns pattern subscriptions", "O(1)"),
				"shardchannels": psub("shardchannels", -2, cmdPubsubShardChannels, "7.0.0", "List active shard channels",
					"O(N) where N is the number of active shard channels, and assuming constant time pattern matching (relatively short shard channels)."),
				"shardnumsub": psub("shardnumsub", -2, cmdPubsubShardNumsub, "7.0.0", "Get the count of subscribers for shard channels",
					"O(N) for the SHARDNUMSUB subcommand, where N is the number of requested shard channels"),
				"help": {Name: "help", Arity: 2, Flags: FlagLoading | FlagStale, Handler: cmdPubsubHelp, Group: "pubsub", Since: "6.2.0",
					Categories: []string{"slow"}, Summary: "Show helpful text about the different subcommands", Complexity: "O(1)"},
			}},
	}
}

func cmdSubscribe(c *Ctx)  { c.S.subscribe(c.C, kindChannel, c.Args[1:]) }
func cmdPsubscribe(c *Ctx) { c.S.subscribe(c.C, kindPattern, c.Args[1:]) }

func cmdSsubscribe(c *Ctx) {
	// EXEC runs its commands as a client that may not block: Redis 7.0
	// refuses SSUBSCRIBE there (SUBSCRIBE and PSUBSCRIBE have an exception).
	if c.InExec() {
		c.Error("ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client")
		return
	}
	c.S.subscribe(c.C, kindShard, c.Args[1:])
}

func cmdUnsubscribe(c *Ctx)  { c.S.unsubscribe(c.C, kindChannel, c.Args[1:]) }
func cmdPunsubscribe(c *Ctx) { c.S.unsubscribe(c.C, kindPattern, c.Args[1:]) }
func cmdSunsubscribe(c *Ctx) { c.S.unsubscribe(c.C, kindShard, c.Args[1:]) }

func cmdPublish(c *Ctx) {
	c.W.Int(int64(c.S.Publish(c.C, c.Args[1], c.Args[2], false)))
	c.S.clusterPublish(c.Args[1], c.Args[2], false)
	publishPropagate(c)
}

func cmdSpublish(c *Ctx) {
	c.W.Int(int64(c.S.Publish(c.C, c.Args[1], c.Args[2], true)))
	c.S.clusterPublish(c.Args[1], c.Args[2], true)
	publishPropagate(c)
}

// publishPropagate sends a message to the replicas, whose subscribers
// receive it too, in standalone mode; a cluster carries it over the bus
// instead (forceCommandPropagation in publishCommand).
func publishPropagate(c *Ctx) {
	if c.Propagating() && !c.S.clusterMode() {
		c.Propagate(c.Args...)
	}
}

// subcmdSyntaxError is Redis's addReplySubcommandSyntaxError.
func subcmdSyntaxError(c *Ctx) {
	c.Error("ERR unknown subcommand or wrong number of arguments for '" + truncate(string(c.Args[1]), 128) +
		"'. Try " + strings.ToUpper(string(c.Args[0])) + " HELP.")
}

func cmdPubsubChannels(c *Ctx) { pubsubList(c, kindChannel) }

func cmdPubsubShardChannels(c *Ctx) { pubsubList(c, kindShard) }

// pubsubList is PUBSUB CHANNELS / SHARDCHANNELS [pattern].
func pubsubList(c *Ctx, k subKind) {
	if len(c.Args) > 3 {
		subcmdSyntaxError(c)
		return
	}
	var pat []byte
	if len(c.Args) == 3 {
		pat = c.Args[2]
	}
	r := &c.S.pubsub
	r.mu.RLock()
	var out []string
	for name := range *r.table(k) {
		if pat == nil || store.GlobMatch(pat, []byte(name), false) {
			out = append(out, name)
		}
	}
	r.mu.RUnlock()
	c.W.Array(len(out))
	for _, name := range out {
		c.W.BulkString(name)
	}
}

func cmdPubsubNumsub(c *Ctx) { pubsubNumsub(c, kindChannel) }

func cmdPubsubShardNumsub(c *Ctx) { pubsubNumsub(c, kindShard) }

// pubsubNumsub is PUBSUB NUMSUB / SHARDNUMSUB [channel ...].
func pubsubNumsub(c *Ctx, k subKind) {
	names := c.Args[2:]
	counts := make([]int, len(names))
	r := &c.S.pubsub
	r.mu.RLock()
	tab := *r.table(k)
	for i, n := range names {
		counts[i] = len(tab[string(n)])
	}
	r.mu.RUnlock()
	c.W.Array(2 * len(names))
	for i, n := range names {
		c.W.Bulk(n)
		c.W.Int(int64(counts[i]))
	}
}

func cmdPubsubNumpat(c *Ctx) {
	_, pats, _ := c.S.PubSubCounts()
	c.W.Int(int64(pats))
}

func cmdPubsubHelp(c *Ctx) {
	writeSubcmdHelp(c, "PUBSUB", []string{
		"CHANNELS [<pattern>]",
		"    Return the currently active channels matching a <pattern> (default: '*').",
		"NUMPAT",
		"    Return number of subscriptions to patterns.",
		"NUMSUB [<channel> ...]",
		"    Return the number of subscribers for the specified channels, excluding",
		"    pattern subscriptions(default: no channels).",
		"SHARDCHANNELS [<pattern>]",
		"    Return the currently active shard level channels matching a <pattern> (default: '*').",
		"SHARDNUMSUB [<shardchannel> ...]",
		"    Return the number of subscribers for the specified shard level channel(s)",
	})
}

// writeSubcmdHelp is Redis's addReplyHelp: a header line, the lines given, and
// the HELP entry, all as status replies.
func writeSubcmdHelp(c *Ctx, cmd string, lines []string) {
	c.W.Array(len(lines) + 3)
	c.W.Status(cmd + " <subcommand> [<arg> [value] [opt] ...]. Subcommands are:")
	for _, l := range lines {
		c.W.Status(l)
	}
	c.W.Status("HELP")
	c.W.Status("    Prints this help.")
}
