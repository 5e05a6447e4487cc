package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/signal"
	"syscall"
	"time"

	"github.com/faultline/faultline/report"
	"github.com/rs/zerolog"
	"github.com/urfave/cli/v2"
)

// serveCommand browses saved runs and their reports until SIGINT or SIGTERM.
func serveCommand(env *appEnv) *cli.Command {
	def := report.DefaultServeConfig()
	return &cli.Command{
		Name:  "serve",
		Usage: "browse saved runs and their reports in a browser (read-only)",
		Description: "Lists the runs in the results folder, newest first, with their configuration and\n" +
			"verdict, and serves each run's report.html and files. Runs without report.html get one\n" +
			"rendered on the fly. Nothing outside the results folder is served.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "results", Value: def.Root, Usage: "results folder"},
			&cli.StringFlag{Name: "listen", Value: "127.0.0.1:8080", Usage: "address to serve on, host:port"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 0 {
				return cli.Exit("faultline serve: takes no arguments (use --results DIR)", exitCannotRun)
			}
			cfg := report.DefaultServeConfig()
			cfg.Root = c.String("results")
			log := env.log.With().Str("cmd", "serve").Logger()
			cfg.OnError = func(r *http.Request, err error) {
				log.Error().Err(err).Str("path", r.URL.Path).Msg("request failed")
			}
			h, err := report.NewHandler(cfg)
			if err != nil {
				return cli.Exit("faultline serve: "+err.Error(), exitCannotRun)
			}
			ctx, stop := signal.NotifyContext(c.Context, syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			err = serveHTTP(ctx, c.String("listen"), h, log, func(url string) {
				fmt.Fprintf(env.stdout, "serving %s at %s\n", cfg.Root, url)
			})
			if err != nil {
				return cli.Exit("faultline serve: "+err.Error(), exitCannotRun)
			}
			return nil
		},
	}
}

// serveHTTP serves h on addr until ctx ends, then shuts down gracefully. ready is called with
// the base URL once the listener is open.
func serveHTTP(ctx context.Context, addr string, h http.Handler, log zerolog.Logger, ready func(url string)) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", addr, err)
	}
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok && !tcp.IP.IsLoopback() {
		log.Warn().Str("listen", ln.Addr().String()).Msg("serving beyond this machine: anyone who reaches the address can read the runs")
	}
	srv := &http.Server{
		Handler:           logRequests(h, log),
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	url := "http://" + ln.Addr().String() + "/"
	log.Info().Str("url", url).Msg("serving")
	if ready != nil {
		ready(url)
	}
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err = srv.Shutdown(sctx)
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info().Msg("stopped")
	return nil
}

// statusWriter remembers the status code for the request log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func logRequests(h http.Handler, log zerolog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(sw, r)
		log.Debug().Str("method", r.Method).Str("path", r.URL.Path).Int("status", sw.status).
			Dur("took", time.Since(start)).Msg("request")
	})
}
