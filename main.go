// Command stackboard serves the deployment-status dashboard and imports and exports its data.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"gorm.io/gorm"

	"stackboard/models"
	"stackboard/models/fleet"
	"stackboard/web"
)

const usage = `Usage: stackboard <command> [flags]

Commands:
  serve     serve the dashboard and the API
  import    apply manifests (YAML or JSON) to the database, all or nothing
  export    print the whole database as a manifest
  generate  fill an empty database (or write a manifest) with a made-up fleet: --size S, M or L
  backup    copy a live SQLite database to a new file (--out) and check the copy's integrity

Run "stackboard <command> -h" for a command's flags. Every flag can also be set by an
environment variable: --db by STACKBOARD_DB, --addr by STACKBOARD_ADDR, and so on.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "stackboard:", err)
		}
		os.Exit(2)
	}
}

// run is the whole program: it parses args (flags fall back to STACKBOARD_* variables read through getenv) and
// runs one command.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	command, args := args[0], args[1:]
	flags := flag.NewFlagSet("stackboard "+command, flag.ContinueOnError)
	flags.SetOutput(stderr)
	db := flags.String("db", "stackboard.db", "SQLite file, or a postgres:// URL")
	switch command {
	case "serve":
		addr := flags.String("addr", "127.0.0.1:8080", "address to listen on")
		demo := flags.Bool("demo", false, "load the demo data set when the database is empty")
		tokens := flags.String("tokens", "", "YAML file of API tokens; with it every write needs a write token")
		authReads := flags.Bool("auth-reads", false, "with --tokens, reads need a token too (browsers sign in)")
		insecureOpen := flags.Bool("insecure-open", false, "serve a non-loopback address without --tokens")
		writeRate := flags.Float64("write-rate", 1000, "writes a second each client may make (0: no limit)")
		writeBurst := flags.Int("write-burst", 2000, "writes a client may make at once above --write-rate")
		cacheMB := flags.Int("cache-mb", int(web.DefaultCacheBytes>>20), "memory for rendered answers kept until the data changes (0: no cache)")
		publicURL := flags.String("public-url", "", "the URL people reach this server at (behind a proxy, say); its host is allowed too")
		allowedHosts := flags.String("allowed-hosts", "", "more host names the server answers to, comma-separated (others get 400)")
		var ops operability
		flags.StringVar(&ops.metricsAddr, web.MetricsListener.Flag(), "", "serve /metrics on this address of its own, without a token, instead of on --addr (loopback only unless --"+web.MetricsListener.OpenFlag()+")")
		metricsOpen := flags.Bool(web.MetricsListener.OpenFlag(), false, "allow a --"+web.MetricsListener.Flag()+" that other machines can reach")
		flags.StringVar(&ops.debugAddr, web.DebugListener.Flag(), "", "serve pprof and expvar on this address (off by default; loopback only unless --"+web.DebugListener.OpenFlag()+")")
		debugOpen := flags.Bool(web.DebugListener.OpenFlag(), false, "allow a --"+web.DebugListener.Flag()+" that other machines can reach")
		flags.StringVar(&ops.logFormat, "log-format", "text", "log format: text or json")
		flags.StringVar(&ops.logLevel, "log-level", "info", "log level: debug, info, warn or error")
		flags.DurationVar(&ops.slowSQL, "slow-sql", 200*time.Millisecond, "log SQL statements slower than this as warnings (0: never)")
		keepEvents := flags.String("keep-events", "", "prune events older than this, such as 90d (default: keep all)")
		memoryMB := flags.Int("memory-mb", 100, "soft limit of the process's memory; the garbage collector works harder near it (0: none; GOMEMLIMIT wins)")
		if err := parseFlags(flags, args, getenv); err != nil {
			return err
		}
		if flags.NArg() > 0 {
			return fmt.Errorf("serve takes no arguments, got %q", flags.Args())
		}
		if ops.debugAddr != "" {
			if err := web.DebugListener.Check(ops.debugAddr, *debugOpen); err != nil {
				return err
			}
		}
		if ops.metricsAddr != "" {
			if err := web.MetricsListener.Check(ops.metricsAddr, *metricsOpen); err != nil {
				return err
			}
		}
		keep, err := models.ParseRetention(*keepEvents)
		if err != nil {
			return fmt.Errorf("--keep-events: %w", err)
		}
		ops.keepEvents = keep
		opts := web.Options{AuthReads: *authReads, MetricsElsewhere: ops.metricsAddr != "", KeepEvents: keep, WriteRate: *writeRate, WriteBurst: *writeBurst, CacheBytes: int64(*cacheMB) << 20}
		if *cacheMB <= 0 {
			opts.CacheBytes = -1
		}
		hosts, err := web.AllowedHosts(*addr, *publicURL, strings.Split(*allowedHosts, ","))
		if err != nil {
			return err
		}
		opts.AllowedHosts, opts.PublicURL = hosts, *publicURL
		if *memoryMB > 0 && getenv("GOMEMLIMIT") == "" {
			debug.SetMemoryLimit(int64(*memoryMB) << 20)
		}
		if *tokens != "" {
			loaded, err := web.LoadTokens(*tokens)
			if err != nil {
				return err
			}
			opts.Tokens = loaded
		} else if *authReads {
			return errors.New("--auth-reads needs --tokens")
		}
		if err := web.CheckListenAddress(*addr, *tokens != "", *insecureOpen); err != nil {
			return err
		}
		return serve(ctx, *db, *addr, *demo, opts, ops, stderr)
	case "import":
		if err := parseFlags(flags, args, getenv); err != nil {
			return err
		}
		if flags.NArg() == 0 {
			return errors.New("import needs at least one manifest file")
		}
		return importFiles(ctx, *db, flags.Args(), stdout)
	case "export":
		if err := parseFlags(flags, args, getenv); err != nil {
			return err
		}
		if flags.NArg() > 0 {
			return fmt.Errorf("export takes no arguments, got %q", flags.Args())
		}
		return export(ctx, *db, stdout)
	case "generate":
		size := flags.String("size", "", "how big a fleet: S (100 stacks), M (1,000) or L (10,000)")
		out := flags.String("out", "", "write the fleet as a manifest to this file (- for stdout) instead of filling --db")
		seed := flags.Uint64("seed", 1, "random seed: the same seed makes the same fleet")
		if err := parseFlags(flags, args, getenv); err != nil {
			return err
		}
		if flags.NArg() > 0 {
			return fmt.Errorf("generate takes no arguments, got %q", flags.Args())
		}
		dbGiven := false
		flags.Visit(func(f *flag.Flag) { dbGiven = dbGiven || f.Name == "db" })
		if dbGiven && *out != "" {
			return errors.New("generate fills --db or writes --out, not both")
		}
		return generate(ctx, *db, *size, *seed, *out, stdout, stderr)
	case "backup":
		out := flags.String("out", "", "the new file to write the copy to")
		if err := parseFlags(flags, args, getenv); err != nil {
			return err
		}
		if flags.NArg() > 0 {
			return fmt.Errorf("backup takes no arguments, got %q", flags.Args())
		}
		if *out == "" {
			return errors.New("backup needs --out FILE")
		}
		return backup(ctx, *db, *out, stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", command)
}

// parseFlags parses args; a flag not given on the command line takes its STACKBOARD_* environment variable.
func parseFlags(flags *flag.FlagSet, args []string, getenv func(string) string) error {
	if err := flags.Parse(args); err != nil {
		return err
	}
	given := make(map[string]bool)
	flags.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	flags.VisitAll(func(f *flag.Flag) {
		name := "STACKBOARD_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		value := getenv(name)
		if given[f.Name] || value == "" || err != nil {
			return
		}
		if setErr := f.Value.Set(value); setErr != nil {
			err = fmt.Errorf("%s=%q: %w", name, value, setErr)
		}
	})
	return err
}

// operability is how serve is watched and kept: its logs, metrics and profiles, and how long it keeps events.
type operability struct {
	metricsAddr, debugAddr string
	logFormat, logLevel    string
	slowSQL                time.Duration
	keepEvents             time.Duration
}

// newLogger makes the logger --log-format and --log-level ask for.
func newLogger(format, level string, w io.Writer) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", level)
	}
	options := &slog.HandlerOptions{Level: lvl}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, options)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, options)), nil
	}
	return nil, fmt.Errorf("--log-format %q: use text or json", format)
}

func serve(ctx context.Context, dsn, addr string, demo bool, opts web.Options, ops operability, stderr io.Writer) error {
	log, err := newLogger(ops.logFormat, ops.logLevel, stderr)
	if err != nil {
		return err
	}
	if opts.Tokens == nil {
		log.Warn("no --tokens: anyone who reaches " + addr + " can change data")
	}
	db, err := models.Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer models.Close(db)
	models.LogSQL(db, log, ops.slowSQL)
	if demo {
		loaded, err := models.LoadDemo(ctx, db)
		if err != nil {
			return err
		}
		if loaded {
			log.Info("loaded the demo data set", "db", redact(dsn))
		}
	}
	server := web.NewServer(db, log, opts)
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	watching := make(chan error, 1)
	go func() { watching <- server.Run(ctx) }()
	// The side listeners serve until ctx ends; one that cannot listen stops the server.
	side := make(chan error, 2)
	sides := 0
	for _, l := range []struct {
		name, addr string
		handler    http.Handler
	}{{"metrics", ops.metricsAddr, server.MetricsHandler()}, {"debug", ops.debugAddr, web.DebugHandler()}} {
		if l.addr == "" {
			continue
		}
		sides++
		go func() {
			err := web.ListenAndServe(ctx, l.addr, l.handler, log, func(a net.Addr) {
				log.Info("serving "+l.name, "url", "http://"+a.String())
			})
			if err != nil {
				stop()
			}
			side <- err
		}()
	}
	if ops.keepEvents > 0 {
		go models.KeepEvents(ctx, db, log, ops.keepEvents)
	}
	err = web.ListenAndServe(ctx, addr, server, log, func(a net.Addr) {
		log.Info("serving", "url", "http://"+a.String(), "db", redact(dsn))
	})
	stop()
	errs := []error{err, <-watching}
	for range sides {
		errs = append(errs, <-side)
	}
	server.Drain()
	return errors.Join(errs...)
}

// backup copies a live SQLite database to out and checks the copy.
func backup(ctx context.Context, dsn, out string, stdout io.Writer) error {
	if models.IsPostgres(dsn) {
		return models.ErrBackupPostgres
	}
	db, err := openDB(ctx, dsn)
	if err != nil {
		return err
	}
	defer models.Close(db)
	start := time.Now()
	if err := models.Backup(ctx, db, out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backed up %s to %s in %.1fs; integrity_check: ok\n", dsn, out, time.Since(start).Seconds())
	return nil
}

func importFiles(ctx context.Context, dsn string, paths []string, stdout io.Writer) error {
	files := make([]models.ManifestFile, 0, len(paths))
	for _, path := range paths {
		file, err := readManifest(path)
		if err != nil {
			return err
		}
		files = append(files, file)
	}
	db, err := models.Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer models.Close(db)
	report, err := models.Import(ctx, db, files...)
	if err != nil {
		return fmt.Errorf("import failed, nothing was changed: %w", err)
	}
	fmt.Fprintf(stdout, "imported %s: %s\n", strings.Join(paths, ", "), report)
	return nil
}

func readManifest(path string) (models.ManifestFile, error) {
	if path == "-" {
		return models.DecodeManifest("stdin", os.Stdin)
	}
	f, err := os.Open(path)
	if err != nil {
		return models.ManifestFile{}, err
	}
	defer f.Close()
	return models.DecodeManifest(path, f)
}

func export(ctx context.Context, dsn string, stdout io.Writer) error {
	db, err := openDB(ctx, dsn)
	if err != nil {
		return err
	}
	defer models.Close(db)
	manifest, err := models.Export(ctx, db)
	if err != nil {
		return err
	}
	return models.EncodeManifest(stdout, manifest)
}

// generate makes a fleet and writes it as a manifest to out, or else into the database dsn names.
func generate(ctx context.Context, dsn, sizeName string, seed uint64, out string, stdout, stderr io.Writer) error {
	if sizeName == "" {
		return errors.New("generate needs --size S, M or L")
	}
	size, err := fleet.ParseSize(sizeName)
	if err != nil {
		return fmt.Errorf("--size: %w", err)
	}
	start := time.Now()
	made, err := fleet.Generate(size, seed, models.Now())
	if err != nil {
		return err
	}
	if out != "" {
		return writeFleetManifest(made, out, start, stdout, stderr)
	}
	db, err := models.Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer models.Close(db)
	report, err := fleet.Fill(ctx, db, made)
	if err != nil {
		return fmt.Errorf("%s: %w", redact(dsn), err)
	}
	fmt.Fprintf(stdout, "generated %s: %s in %.1fs\n", size.Name, report, time.Since(start).Seconds())
	return nil
}

// writeFleetManifest writes a fleet's manifest to path, or to stdout for "-" (and the summary then to stderr, to
// keep stdout a manifest).
func writeFleetManifest(made fleet.Fleet, path string, start time.Time, stdout, stderr io.Writer) (err error) {
	summary, w, name := stdout, stdout, path
	if path == "-" {
		summary, name = stderr, "stdout"
	} else {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		defer func() {
			if closeErr := f.Close(); err == nil {
				err = closeErr
			}
		}()
		w = f
	}
	buffered := bufio.NewWriter(w)
	manifest, err := made.Manifest()
	if err != nil {
		return err
	}
	if err := models.EncodeManifest(buffered, manifest); err != nil {
		return err
	}
	if err := buffered.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(summary, "wrote %s manifest to %s: %d projects, %d stacks, %d services, %d products in %.1fs\n",
		made.Size.Name, name, len(made.Projects), len(made.Stacks), len(made.Services), len(made.Products),
		time.Since(start).Seconds())
	return nil
}

// openDB opens an existing database; unlike serve and import, export does not create one.
func openDB(ctx context.Context, dsn string) (*gorm.DB, error) {
	if !models.IsPostgres(dsn) {
		if _, err := os.Stat(dsn); err != nil {
			return nil, fmt.Errorf("open database: %w", err)
		}
	}
	return models.Open(ctx, dsn)
}

// redact hides the password of a database URL before it is logged.
func redact(dsn string) string {
	if !models.IsPostgres(dsn) {
		return dsn
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "postgres://(unparsable URL)"
	}
	return u.Redacted()
}
